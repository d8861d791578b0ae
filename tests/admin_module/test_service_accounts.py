"""Service accounts: the API (ADMIN) and the fleet's own accounts seeded from configuration."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr, ValidationError

from admin_module.settings import Settings
from tests.admin_module.conftest import FLEET_SECRETS, KEK, Admin, admin_settings, running_admin

TOKEN_URL = "/api/v1/auth/token"


async def _client_credentials(admin: Admin, client_id: str, secret: str) -> Any:
    return await admin.client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


async def test_create_shows_the_secret_once_and_it_works(admin: Admin) -> None:
    headers = await admin.headers()
    created = await admin.client.post(
        "/api/v1/service-accounts", json={"name": "Nightly Export", "scopes": ["files:read"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_id"] == "nightly-export" and body["status"] == "ACTIVE" and body["fleet"] is False
    assert len(body["client_secret"]) >= 43 and body["secret_expires_at"]
    read = (await admin.client.get(f"/api/v1/service-accounts/{body['id']}", headers=headers)).json()
    assert "client_secret" not in read
    token = await _client_credentials(admin, "nightly-export", body["client_secret"])
    assert token.status_code == 200 and token.json()["scope"] == "files:read"
    async with admin.app.state.engine.connect() as conn:
        stored = await conn.scalar(
            sa.text("SELECT secret_hash FROM service_accounts WHERE client_id='nightly-export'")
        )
    assert stored.startswith("$2b$") and body["client_secret"] not in stored
    taken = await admin.client.post(
        "/api/v1/service-accounts", json={"name": "nightly export", "scopes": ["files:read"]}, headers=headers
    )
    assert taken.status_code == 409


async def test_unknown_scopes_are_refused(admin: Admin) -> None:
    headers = await admin.headers()
    response = await admin.client.post(
        "/api/v1/service-accounts",
        json={"name": "Greedy", "scopes": ["files:read", "files:everything"]},
        headers=headers,
    )
    assert response.status_code == 422 and "files:everything" in response.json()["detail"]
    created = (
        await admin.client.post(
            "/api/v1/service-accounts", json={"name": "Modest", "scopes": ["files:read"]}, headers=headers
        )
    ).json()
    patched = await admin.client.patch(
        f"/api/v1/service-accounts/{created['id']}", json={"scopes": ["root"]}, headers=headers
    )
    assert patched.status_code == 422


async def test_suspend_rotate_expire_delete(admin: Admin) -> None:
    headers = await admin.headers()
    created = (
        await admin.client.post(
            "/api/v1/service-accounts",
            json={"name": "Robot", "scopes": ["files:read", "files:write"]},
            headers=headers,
        )
    ).json()
    url = f"/api/v1/service-accounts/{created['id']}"
    secret = created["client_secret"]

    patched = await admin.client.patch(
        url, json={"status": "SUSPENDED", "scopes": ["files:read"]}, headers=headers
    )
    assert patched.json()["status"] == "SUSPENDED" and patched.json()["scopes"] == ["files:read"]
    refused = await _client_credentials(admin, "robot", secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    await admin.client.patch(url, json={"status": "ACTIVE"}, headers=headers)
    assert (await _client_credentials(admin, "robot", secret)).json()["scope"] == "files:read"

    rotated = (await admin.client.post(f"{url}/rotate-secret", headers=headers)).json()
    assert rotated["client_secret"] != secret
    assert (await _client_credentials(admin, "robot", secret)).status_code == 401
    assert (await _client_credentials(admin, "robot", rotated["client_secret"])).status_code == 200

    async with admin.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE service_accounts SET secret_expires_at = now() - interval '1 second' "
                "WHERE client_id = 'robot'"
            )
        )
    expired = await _client_credentials(admin, "robot", rotated["client_secret"])
    assert expired.status_code == 401 and "expired" in expired.json()["error_description"]

    assert (await admin.client.delete(url, headers=headers)).status_code == 204
    assert (await admin.client.get(url, headers=headers)).status_code == 404
    listed = (await admin.client.get("/api/v1/service-accounts", headers=headers)).json()
    assert "robot" in [a["client_id"] for a in listed["items"] if a["status"] == "DELETED"]
    actions = [
        e["action"]
        for e in (
            await admin.client.get("/api/v1/audit-events", params={"actor": "admin"}, headers=headers)
        ).json()["items"]
    ]
    for action in (
        "service_account.created",
        "service_account.updated",
        "service_account.secret_rotated",
        "service_account.deleted",
    ):
        assert action in actions


async def test_fleet_accounts_are_seeded_with_their_scopes(admin: Admin) -> None:
    headers = await admin.headers()
    accounts = {
        a["client_id"]: a
        for a in (await admin.client.get("/api/v1/service-accounts", headers=headers)).json()["items"]
    }
    assert set(accounts) == {"svc-admin", "svc-storage", "svc-ingester", "svc-query"}
    assert accounts["svc-query"]["scopes"] == ["audit:write", "feed:read", "files:read"]
    assert accounts["svc-storage"]["scopes"] == ["audit:write", "files:read", "storage:register"]
    assert accounts["svc-admin"]["scopes"] == ["audit:write", "storage:admin", "storage:read"]
    assert all(a["fleet"] and a["secret_expires_at"] is None for a in accounts.values())
    # svc-admin has no configured secret: it exists (stable id) but cannot log in until one is set.
    assert (await _client_credentials(admin, "svc-admin", "anything-at-all-really")).status_code == 401
    fleet_delete = await admin.client.delete(
        f"/api/v1/service-accounts/{accounts['svc-query']['id']}", headers=headers
    )
    assert fleet_delete.status_code == 409


async def test_seeding_is_idempotent_and_follows_the_configured_secret(
    migrated_database_url: str, redis_url: str
) -> None:
    settings = admin_settings(migrated_database_url, redis_url, migrate_on_start=False)
    async with running_admin(settings) as admin, admin.app.state.engine.begin() as conn:
        rotated_at = await conn.scalar(
            sa.text("SELECT secret_rotated_at FROM service_accounts WHERE client_id = 'svc-query'")
        )
        await conn.execute(
            sa.text("UPDATE service_accounts SET scopes = '{files:read}' WHERE client_id='svc-query'")
        )
    async with running_admin(settings) as admin:  # same configuration: nothing changes but the scopes
        async with admin.app.state.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT secret_rotated_at, scopes FROM service_accounts WHERE client_id = 'svc-query'"
                    )
                )
            ).one()
            count = await conn.scalar(sa.text("SELECT count(*) FROM service_accounts"))
        assert row.secret_rotated_at == rotated_at and sorted(row.scopes) == [
            "audit:write",
            "feed:read",
            "files:read",
        ]
        assert count == 4
    new_secrets = {
        **FLEET_SECRETS,
        "svc-query": "query-fleet-rotated-0f1e2d3c4b5a6978",
        "svc-admin": "admin-fleet-9a8b7c6d5e4f3a2b1c0d9e8f",
    }
    async with running_admin(
        admin_settings(migrated_database_url, redis_url, fleet_secrets=new_secrets, migrate_on_start=False)
    ) as admin:
        assert (await _client_credentials(admin, "svc-query", FLEET_SECRETS["svc-query"])).status_code == 401
        assert (await _client_credentials(admin, "svc-query", new_secrets["svc-query"])).status_code == 200
        assert (await _client_credentials(admin, "svc-admin", new_secrets["svc-admin"])).status_code == 200
        assert (
            await _client_credentials(admin, "svc-ingester", FLEET_SECRETS["svc-ingester"])
        ).status_code == 200


@pytest.mark.parametrize("env", ["test", "production"])
def test_fleet_secrets_shorter_than_32_bytes_are_refused_outside_development(env: str) -> None:
    short = {"svc-query": SecretStr("Zr8kQ2mW9xLp4vT7bN1cY6hJ0sD3f")}  # 29 bytes, not a placeholder
    with pytest.raises(ValidationError, match="svc-query is shorter than 32 bytes"):
        Settings(env=env, key_encryption_key=SecretStr(KEK), fleet_secrets=short)  # type: ignore[arg-type]
    enough = {"svc-query": SecretStr("Zr8kQ2mW9xLp4vT7bN1cY6hJ0sD3fG5a")}  # 32 bytes
    assert Settings(env=env, key_encryption_key=SecretStr(KEK), fleet_secrets=enough).fleet_secrets  # type: ignore[arg-type]
    assert Settings(env="development", fleet_secrets=short).fleet_secrets  # type: ignore[arg-type]
