"""The shared token verifier refuses every forgery with 401 problem+json."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, FastAPI

from shared.auth import Principal, PrincipalDep, TokenVerifier, require_role, require_scope
from shared.errors import install_error_handlers
from shared.middleware import RequestIdMiddleware
from tests.support.tokens import AUDIENCE, ISSUER, TestKeys


def make_app(keys: TestKeys) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    app.state.verifier = TokenVerifier(
        keys, issuer=ISSUER, audience=AUDIENCE, leeway=5, min_refresh_interval=0
    )

    @app.get("/me")
    async def me(principal: PrincipalDep) -> dict[str, object]:
        return {
            "sub": principal.subject,
            "kind": principal.kind,
            "role": principal.role,
            "scopes": sorted(principal.scopes),
        }

    @app.get("/operators")
    async def operators(principal: Principal = Depends(require_role("OPERATOR"))) -> dict[str, str]:
        return {"ok": principal.username}

    @app.get("/feed")
    async def feed(principal: Principal = Depends(require_scope("feed:read"))) -> dict[str, str]:
        return {"ok": principal.username}

    return app


@pytest.fixture
async def client(keys: TestKeys) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(keys))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def assert_401(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    response = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, object] = response.json()
    assert body["status"] == 401 and body["code"] == "unauthorized" and body["request_id"]
    return body


async def test_valid_token_gives_principal(client: httpx.AsyncClient, keys: TestKeys) -> None:
    response = await client.get("/me", headers={"Authorization": f"Bearer {keys.user('OPERATOR')}"})
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "user" and body["role"] == "OPERATOR" and "storage:admin" in body["scopes"]


async def test_missing_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


async def test_alg_none_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": keys.kid}).encode())
    payload = b64(json.dumps(keys.claims(role="ADMIN")).encode())
    await assert_401(client, f"{header}.{payload}.")


async def test_hs256_signed_with_public_key_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    public_pem = (
        keys.keys[keys.kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keys.kid}).encode())
    payload = b64(json.dumps(keys.claims(role="ADMIN")).encode())
    import hashlib
    import hmac

    signature = b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    await assert_401(client, f"{header}.{payload}.{signature}")


async def test_wrong_audience_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    body = await assert_401(client, keys.token(aud="someone-else"))
    assert "audience" in str(body["detail"]).lower()


async def test_wrong_issuer_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    body = await assert_401(client, keys.token(iss="http://evil.example"))
    assert "issuer" in str(body["detail"]).lower()


async def test_expired_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    now = int(time.time())
    body = await assert_401(client, keys.token(iat=now - 3600, nbf=now - 3600, exp=now - 60))
    assert "expired" in str(body["detail"]).lower()


async def test_expired_within_leeway_accepted(client: httpx.AsyncClient, keys: TestKeys) -> None:
    now = int(time.time())
    token = keys.token(iat=now - 3600, nbf=now - 3600, exp=now - 2)
    response = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_not_yet_valid_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    now = int(time.time())
    await assert_401(client, keys.token(iat=now, nbf=now + 600, exp=now + 1800))


async def test_unknown_kid_not_in_refreshed_jwks_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    rogue = keys.add_key(publish=False)
    before = keys.fetches
    body = await assert_401(client, keys.token(kid=rogue))
    assert "unknown key" in str(body["detail"])
    assert keys.fetches == before + 1  # it did look again before refusing


async def test_new_key_accepted_after_refetch(client: httpx.AsyncClient, keys: TestKeys) -> None:
    await client.get("/me", headers={"Authorization": f"Bearer {keys.user()}"})
    rotated = keys.add_key()
    response = await client.get("/me", headers={"Authorization": f"Bearer {keys.token(kid=rotated)}"})
    assert response.status_code == 200


async def test_refresh_token_type_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    body = await assert_401(client, keys.token(typ="refresh"))
    assert "access" in str(body["detail"])


async def test_unknown_role_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    await assert_401(client, keys.token(role="SUPERUSER"))


async def test_tampered_payload_rejected(client: httpx.AsyncClient, keys: TestKeys) -> None:
    header, _, signature = keys.user("USER").split(".")
    forged = b64(json.dumps(keys.claims(role="ADMIN")).encode())
    await assert_401(client, f"{header}.{forged}.{signature}")


async def test_refetch_is_rate_limited(keys: TestKeys) -> None:
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, min_refresh_interval=60)
    await verifier.load()
    rogue = keys.add_key(publish=False)
    for _ in range(5):
        with pytest.raises(Exception, match="unknown key"):
            await verifier.verify(keys.token(kid=rogue))
    assert keys.fetches == 1


async def test_role_and_scope_dependencies(client: httpx.AsyncClient, keys: TestKeys) -> None:
    user = {"Authorization": f"Bearer {keys.user('USER')}"}
    operator = {"Authorization": f"Bearer {keys.user('OPERATOR')}"}
    service = {"Authorization": f"Bearer {keys.service('svc-query', 'feed:read files:read')}"}
    assert (await client.get("/operators", headers=user)).status_code == 403
    assert (await client.get("/operators", headers=operator)).status_code == 200
    assert (await client.get("/operators", headers=service)).status_code == 403
    forbidden = await client.get("/feed", headers=user)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    assert (await client.get("/feed", headers=service)).status_code == 200


def test_jwt_library_refuses_none_even_when_asked_directly(keys: TestKeys) -> None:
    token = jwt.encode(keys.claims(), key=None, algorithm="none")
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(token, keys.keys[keys.kid].public_key(), algorithms=["RS256"], audience=AUDIENCE)


async def test_a_token_is_verified_once_then_remembered(
    keys: TestKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, min_refresh_interval=0)
    await verifier.load()
    decoded = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **kw: decoded.append(1) or real_decode(*a, **kw))
    token = keys.user("OPERATOR", username="olga")
    first = await verifier.verify(token)
    again = await verifier.verify(token)
    assert first == again and again.username == "olga" and again.role == "OPERATOR"
    assert len(decoded) == 1
    # a different token (even for the same user) is checked on its own
    with pytest.raises(Exception, match="invalid token"):
        await verifier.verify(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))


async def test_a_remembered_token_still_expires(keys: TestKeys) -> None:
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway=0, min_refresh_interval=0)
    await verifier.load()
    exp = int(time.time()) + 2
    token = keys.token(exp=exp)
    await verifier.verify(token)
    await verifier.verify(token)  # remembered
    await asyncio.sleep(exp - time.time() + 0.1)
    with pytest.raises(Exception, match="token expired"):
        await verifier.verify(token)


async def test_a_remembered_token_dies_with_its_key(keys: TestKeys) -> None:
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, min_refresh_interval=0)
    await verifier.load()
    old = keys.kid
    token = keys.token()
    await verifier.verify(token)
    keys.kid = keys.add_key()
    keys.published.discard(old)  # the admin stopped publishing the old key
    await verifier.load()
    with pytest.raises(Exception, match="unknown key"):
        await verifier.verify(token)
