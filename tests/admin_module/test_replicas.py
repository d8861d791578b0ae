"""Several admin replicas on one database, and Redis going away under them."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import pytest
import sqlalchemy as sa

from tests.admin_module.conftest import Admin, admin_settings, running_admin


async def test_replicas_starting_together_make_one_key_one_admin_one_fleet(
    migrated_database_url: str,
) -> None:
    settings = admin_settings(migrated_database_url, None, migrate_on_start=False)
    async with AsyncExitStack() as stack:
        replicas: list[Admin] = list(
            await asyncio.gather(*(stack.enter_async_context(running_admin(settings)) for _ in range(3)))
        )
        async with replicas[0].app.state.engine.connect() as conn:
            keys = await conn.scalar(sa.text("SELECT count(*) FROM signing_keys"))
            admins = await conn.scalar(sa.text("SELECT count(*) FROM users WHERE role = 'ADMIN'"))
            accounts = await conn.scalar(sa.text("SELECT count(*) FROM service_accounts"))
        assert (keys, admins, accounts) == (1, 1, 4)
        # A token from one replica is accepted by the others; a rotation on one is seen by all.
        token = await replicas[0].token()
        for replica in replicas[1:]:
            me = await replica.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200
        rotated = await replicas[1].client.post(
            "/api/v1/keys/rotate", headers={"Authorization": f"Bearer {token}"}
        )
        fresh = await replicas[1].token()
        for replica in (replicas[0], replicas[2]):
            me = await replica.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh}"})
            assert me.status_code == 200, me.text
            jwks = (await replica.client.get("/.well-known/jwks.json")).json()
            assert rotated.json()["kid"] in [k["kid"] for k in jwks["keys"]]


async def test_rate_limits_fall_back_to_postgres_when_redis_goes_down(
    migrated_database_url: str, private_redis: Any
) -> None:
    settings = admin_settings(
        migrated_database_url,
        private_redis.url,
        migrate_on_start=False,
        rate_limit_per_username=2,
    )
    async with running_admin(settings) as admin:
        assert (await admin.login("victim", "wrong-password-00")).status_code == 400
        private_redis.stop()
        statuses = [(await admin.login("victim", "wrong-password-00")).status_code for _ in range(3)]
        # Postgres counts from zero after the switch; the limit still holds.
        assert statuses == [400, 400, 429]
        # Login keeps working without Redis.
        assert (
            await admin.login("admin", admin.settings.bootstrap_password.get_secret_value())
        ).status_code == 200  # type: ignore[union-attr]


@pytest.mark.parametrize("admin_overrides", [{"rate_limit_per_ip": 1000, "rate_limit_per_username": 1000}])
async def test_parallel_logins_with_a_refresh_race_keep_one_winner(admin: Admin) -> None:
    await admin.create_user("racer", "racing-password-001")
    refresh = (await admin.login("racer", "racing-password-001")).json()["refresh_token"]

    async def use() -> int:
        response = await admin.client.post(
            "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        )
        return response.status_code

    statuses = sorted(await asyncio.gather(*(use() for _ in range(4))))
    # Exactly one rotation wins; the others are reuse, which revokes the family.
    assert statuses == [200, 400, 400, 400]
