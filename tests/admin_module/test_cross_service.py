"""Tokens minted by the admin module, verified by another service's ``shared`` verifier through
the admin's JWKS served over real HTTP (the admin runs as its own process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager

from query_module.app import create_app as create_query_app
from query_module.settings import Settings as QuerySettings
from shared.auth import HttpJwksSource, TokenVerifier
from shared.errors import Unauthorized
from tests.admin_module.conftest import ADMIN_PASSWORD, FLEET_SECRETS, KEK
from tests.support.processes import ServiceProcess
from tests.support.tokens import AUDIENCE, ISSUER


@pytest.fixture
def admin_process(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        "admin_module",
        "ARTSTORE_ADMIN_",
        {
            "database_url": database_url,
            "redis_url": redis_url,
            "jwt_issuer": ISSUER,
            "key_encryption_key": KEK,
            "bcrypt_rounds": "4",
            "bootstrap_password": ADMIN_PASSWORD,
            "fleet_secrets": json.dumps(FLEET_SECRETS),
        },
        log_path=tmp_path / "admin.log",
    )
    process.start()
    yield process
    process.stop()


async def test_admin_tokens_verify_in_another_service_and_survive_rotation(
    admin_process: ServiceProcess, other_database_url: str, redis_url: str
) -> None:
    async with httpx.AsyncClient(base_url=admin_process.url) as admin:
        user = await admin.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
        )
        assert user.status_code == 200, user.text
        user_token = user.json()["access_token"]
        service = await admin.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=("svc-query", FLEET_SECRETS["svc-query"]),
        )
        assert service.status_code == 200, service.text
        service_token = service.json()["access_token"]

        # The shared verifier, exactly as every service builds it, reading the JWKS over HTTP.
        verifier = TokenVerifier(
            HttpJwksSource(admin_process.url, admin), issuer=ISSUER, audience=AUDIENCE, min_refresh_interval=0
        )
        await verifier.load()
        principal = await verifier.verify(user_token)
        assert principal.kind == "user" and principal.role == "ADMIN" and principal.username == "admin"
        assert principal.has_scope("identity:admin")
        svc = await verifier.verify(service_token)
        assert svc.kind == "service" and svc.username == "svc-query" and svc.role is None
        assert svc.scopes == {"files:read", "feed:read", "audit:write"}

        # The query module's own app, pointed at the admin module.
        query_settings = QuerySettings(
            env="test",
            database_url=other_database_url,
            redis_url=redis_url,
            admin_url=admin_process.url,
            jwt_issuer=ISSUER,
            jwks_min_refresh_seconds=0,
            service_client_secret=FLEET_SECRETS["svc-query"],
            link_secret="query-link-signing-key-0123456789",
            http_retries=0,
        )
        query_app = create_query_app(query_settings)
        async with LifespanManager(query_app, startup_timeout=60, shutdown_timeout=30):
            query_verifier: TokenVerifier = query_app.state.verifier
            assert (await query_verifier.verify(user_token)).subject == principal.subject

            # Rotation: the old token keeps verifying, a new-key token verifies without a restart.
            rotated = await admin.post(
                "/api/v1/keys/rotate", headers={"Authorization": f"Bearer {user_token}"}
            )
            assert rotated.status_code == 201, rotated.text
            fresh = await admin.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
            )
            fresh_token = fresh.json()["access_token"]
            assert jwt.get_unverified_header(fresh_token)["kid"] == rotated.json()["kid"]
            assert (await query_verifier.verify(fresh_token)).username == "admin"
            assert (await query_verifier.verify(user_token)).username == "admin"

            # A token from anyone else's key is refused.
            forged = jwt.encode(
                jwt.decode(user_token, options={"verify_signature": False}),
                "not-a-key-just-a-string-of-32-bytes!",
                algorithm="HS256",
                headers={"kid": rotated.json()["kid"]},
            )
            with pytest.raises(Unauthorized):
                await query_verifier.verify(forged)
