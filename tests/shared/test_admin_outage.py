"""A service keeps working through an admin-module outage (ARCHITECTURE.md section 4).

* The token verifier keeps the admin's JWKS in Redis: a service started while the admin
  module is unreachable loads that copy and still accepts tokens signed by a known key.
* The service token provider renews its own token at half its lifetime, so a renewal that
  fails in an outage leaves the old, still valid token in use.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis

import shared.service_token
from shared.app import build_app, core_resources
from shared.auth import JWKS_REDIS_KEY, PrincipalDep
from shared.http import create_http_client
from shared.service_token import ServiceTokenError, ServiceTokenProvider
from shared.settings import ServiceSettings
from tests.shared.conftest import eventually, preserved_logging, serve
from tests.support.fake_admin import FakeAdmin
from tests.support.servers import free_port
from tests.support.tokens import AUDIENCE, ISSUER, TestKeys

# ---------------------------------------------------------------- the JWKS copy in Redis


def verifying_app(database_url: str, redis_url: str | None, admin_url: str) -> FastAPI:
    """A service as far as tokens go: ``core_resources`` at start (as every service opens
    them), and one route that needs a valid bearer token."""
    settings = ServiceSettings(
        env="test",
        database_url=database_url,
        redis_url=redis_url,
        admin_url=admin_url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        migrate_on_start=False,
        http_retries=1,
        http_connect_timeout=5,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core_resources(app, settings, migrations=None):
            yield

    app = build_app(settings, service="outage_probe", title="Outage probe", version="0", lifespan=lifespan)

    @app.get("/me")
    async def me(principal: PrincipalDep) -> dict[str, str]:
        return {"username": principal.username}

    return app


async def whoami(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await client.get("/me", headers={"Authorization": f"Bearer {token}"})


async def test_a_service_started_during_an_admin_outage_verifies_with_the_redis_copy(
    database_url: str, redis_url: str, keys: TestKeys
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        with preserved_logging():
            # The admin module is up: the first service fetches the JWKS and keeps a copy in Redis.
            with FakeAdmin(keys) as admin:
                admin_url = admin.url
                async with serve(verifying_app(database_url, redis_url, admin_url)) as url:
                    assert (await whoami(url, keys.user(username="before"))).json() == {"username": "before"}
            cached = await redis.get(JWKS_REDIS_KEY)
            assert cached is not None and json.loads(cached) == keys.jwks()

            # The admin module is gone (nothing listens at its URL any more). A service starting now
            # has only the Redis copy, and it is enough for every key the admin had published.
            async with httpx.AsyncClient() as probe:
                with pytest.raises(httpx.ConnectError):
                    await probe.get(f"{admin_url}/.well-known/jwks.json")
            async with serve(verifying_app(database_url, redis_url, admin_url)) as url:
                response = await whoami(url, keys.user(username="during"))
                assert response.status_code == 200, response.text
                assert response.json() == {"username": "during"}
                # Fail closed: a key the copy does not hold cannot be checked, so it is refused.
                unknown = keys.add_key()
                refused = await whoami(url, keys.token(kid=unknown))
                assert refused.status_code == 401 and "unknown key" in refused.json()["detail"]
                forged = keys.token(kid=keys.kid, iss="http://evil.example")
                assert (await whoami(url, forged)).status_code == 401

            # Without the copy the same start-up has no keys at all: the copy is what did it.
            await redis.delete(JWKS_REDIS_KEY)
            async with serve(verifying_app(database_url, redis_url, admin_url)) as url:
                response = await whoami(url, keys.user(username="no-copy"))
                assert response.status_code == 401 and "unknown key" in response.json()["detail"]
    finally:
        await redis.aclose()


# ---------------------------------------------------------------- the service's own token


@dataclass
class TokenEndpoint:
    """The client-credentials grant of the admin module, with a chosen token lifetime; it
    records when each token was asked for and can be switched off."""

    keys: TestKeys
    lifetime: int
    requests: list[float] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    down: bool = False
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/auth/token")
        async def token(request: Request) -> JSONResponse:
            self.requests.append(time.monotonic())
            if self.down:
                return JSONResponse({"detail": "admin down"}, status_code=503)
            form = await request.form()
            user = base64.b64decode(request.headers["authorization"].removeprefix("Basic ")).decode()
            client_id = user.split(":", 1)[0]
            self.clients.append(client_id)
            assert form["grant_type"] == "client_credentials"
            body = {
                "access_token": self.keys.service(client_id, "files:read"),
                "token_type": "Bearer",
                "expires_in": self.lifetime,
            }
            return JSONResponse(body)

        return app


@asynccontextmanager
async def token_provider(endpoint: TokenEndpoint) -> AsyncIterator[ServiceTokenProvider]:
    async with serve(endpoint.app()) as url, create_http_client(retries=0) as http:
        endpoint.url = url
        yield ServiceTokenProvider(http, f"{url}/api/v1/auth/token", "svc-query", "query-secret-0123456789")


async def test_the_token_is_renewed_after_half_its_lifetime(keys: TestKeys) -> None:
    """Real time with a 6 s token: one request for many concurrent callers, the next one only
    after 3 s. (Lower bounds only; the exact schedule is the next test's, on a controlled clock.)"""
    endpoint = TokenEndpoint(keys, lifetime=6)
    async with token_provider(endpoint) as provider:
        first = await provider.token()
        same = await asyncio.gather(*(provider.token() for _ in range(20)))
        assert set(same) == {first} and len(endpoint.requests) == 1
        assert endpoint.clients == ["svc-query"]

        async def renewed() -> str | None:
            token = await provider.token()
            return token if token != first else None

        second = await eventually(renewed, timeout=60, interval=0.1)
    assert len(endpoint.requests) == 2
    assert endpoint.requests[1] - endpoint.requests[0] >= 3 - 0.05
    assert jti(second) != jti(first)


def jti(token: str) -> str:
    """The token's jti (each minted token has its own)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_renewal_schedule_and_an_outage_on_a_controlled_clock(
    keys: TestKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = TokenEndpoint(keys, lifetime=600)
    clock = Clock()
    start = clock.now
    async with token_provider(endpoint) as provider:
        monkeypatch.setattr(shared.service_token, "time", clock)
        first = await provider.token()
        clock.now = start + 299
        assert await provider.token() == first and len(endpoint.requests) == 1
        clock.now = start + 301  # past half the lifetime: a new token
        second = await provider.token()
        assert second != first and len(endpoint.requests) == 2
        clock.now = start + 301 + 299
        assert await provider.token() == second and len(endpoint.requests) == 2

        # The admin module goes down just as the second token reaches half its life: the
        # renewal fails, and the old token, valid for another five minutes, is used meanwhile.
        endpoint.down = True
        clock.now = start + 301 + 301
        assert await provider.token() == second and len(endpoint.requests) == 3
        clock.now = start + 301 + 590
        assert await provider.token() == second
        # Once it has expired (less a margin) there is nothing valid left to hand out.
        clock.now = start + 301 + 600
        with pytest.raises(ServiceTokenError):
            await provider.token()
        # The admin module is back: the next call gets a fresh token.
        endpoint.down = False
        third = await provider.token()
        assert third not in (first, second)


async def test_no_token_at_all_when_the_admin_is_down_from_the_start() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    async with create_http_client(retries=0) as http:
        provider = ServiceTokenProvider(
            http, f"{nobody}/api/v1/auth/token", "svc-query", "secret-0123456789ab"
        )
        with pytest.raises(ServiceTokenError, match="cannot obtain a service token"):
            await provider.token()


async def test_renewal_backs_off_while_the_admin_is_unreachable(
    keys: TestKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin goes away (a closed port) past the token's half-life: every caller gets the
    still-valid token at once, and the token endpoint is tried with exponential backoff (1 s,
    2 s, ... 60 s at most), not on every call."""
    endpoint = TokenEndpoint(keys, lifetime=600)
    clock = Clock()
    start = clock.now
    tried: list[str] = []

    async def count(request: httpx.Request) -> None:
        tried.append(str(request.url))

    async with token_provider(endpoint) as provider:
        provider.client.event_hooks = {"request": [*provider.client.event_hooks["request"], count]}
        monkeypatch.setattr(shared.service_token, "time", clock)
        first = await provider.token()
        provider.token_url = f"http://127.0.0.1:{free_port()}/api/v1/auth/token"  # nobody listens

        clock.now = start + 301  # past half-life
        began = time.perf_counter()
        tokens = await asyncio.gather(*(provider.token() for _ in range(50)))
        tokens += [await provider.token() for _ in range(50)]
        assert set(tokens) == {first}
        assert time.perf_counter() - began < 5
        assert len(tried) == 2  # the first token, then one renewal attempt for 100 calls

        clock.now += 0.9  # inside the first backoff (1 s): no new attempt
        assert await provider.token() == first and len(tried) == 2
        clock.now += 0.2
        assert await provider.token() == first and len(tried) == 3  # next backoff: 2 s

        # Ten calls a second for the rest of the token's life (up to its expiry, less 5 s):
        # the attempts follow the backoff, 1+2+4+8+16+32 s, then one a minute.
        while clock.now < start + 594:
            clock.now += 0.1
            assert await provider.token() == first
        assert 9 <= len(tried) - 1 <= 12, len(tried)
        assert provider.token_url in tried[-1]


async def test_callers_queued_behind_a_failed_first_fetch_do_not_each_retry() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    tried: list[str] = []

    async def count(request: httpx.Request) -> None:
        tried.append(str(request.url))

    async with create_http_client(retries=0) as http:
        http.event_hooks = {"request": [*http.event_hooks["request"], count]}
        provider = ServiceTokenProvider(
            http, f"{nobody}/api/v1/auth/token", "svc-query", "secret-0123456789ab"
        )
        results = await asyncio.gather(*(provider.token() for _ in range(20)), return_exceptions=True)
        assert all(isinstance(r, ServiceTokenError) for r in results)
        assert len(tried) == 1
        # A later call (no valid token to fall back on) tries again at once.
        with pytest.raises(ServiceTokenError):
            await provider.token()
        assert len(tried) == 2
