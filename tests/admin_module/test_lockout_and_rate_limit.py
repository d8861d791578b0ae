"""Lockout after repeated failures, ADMIN unlock, and the token endpoint's shared rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.admin_module.conftest import Admin, admin_settings, running_admin

PASSWORD = "lockout-test-password-1"


@pytest.mark.parametrize("admin_overrides", [{"lockout_threshold": 3}])
async def test_failures_lock_the_account_until_unlocked(admin: Admin) -> None:
    user = await admin.create_user("lena", PASSWORD)
    for _ in range(3):
        assert (await admin.login("lena", "wrong-password-00")).json()["error_description"] == (
            "invalid username or password"
        )
    locked = await admin.login("lena", PASSWORD)
    assert locked.status_code == 400 and locked.json()["error"] == "invalid_grant"
    description = locked.json()["error_description"]
    assert description.startswith("account is locked until ")
    until = datetime.fromisoformat(description.removeprefix("account is locked until "))
    assert timedelta(minutes=14) < until - datetime.now(UTC) <= timedelta(minutes=15)

    headers = await admin.headers()
    record = (await admin.client.get(f"/api/v1/users/{user['id']}", headers=headers)).json()
    assert record["status"] == "LOCKED" and record["failed_login_count"] == 3
    lock_events = (
        await admin.client.get("/api/v1/audit-events", params={"action": "user.locked"}, headers=headers)
    ).json()["items"]
    assert [e["target"] for e in lock_events] == ["lena"]

    unlocked = await admin.client.post(f"/api/v1/users/{user['id']}/unlock", headers=headers)
    assert unlocked.status_code == 200 and unlocked.json()["status"] == "ACTIVE"
    assert unlocked.json()["failed_login_count"] == 0
    assert (await admin.login("lena", PASSWORD)).status_code == 200
    unlock_events = (
        await admin.client.get("/api/v1/audit-events", params={"action": "user.unlocked"}, headers=headers)
    ).json()["items"]
    assert unlock_events[0]["actor"]["username"] == "admin"


@pytest.mark.parametrize("admin_overrides", [{"lockout_threshold": 3}])
async def test_a_success_resets_the_count(admin: Admin) -> None:
    await admin.create_user("mike", PASSWORD)
    for _ in range(2):
        await admin.login("mike", "wrong-password-00")
    assert (await admin.login("mike", PASSWORD)).status_code == 200
    for _ in range(2):
        await admin.login("mike", "wrong-password-00")
    assert (await admin.login("mike", PASSWORD)).status_code == 200


@pytest.mark.parametrize("admin_overrides", [{"lockout_threshold": 2}])
async def test_a_lock_expires_by_itself(admin: Admin) -> None:
    await admin.create_user("nora", PASSWORD)
    for _ in range(2):
        await admin.login("nora", "wrong-password-00")
    assert "locked" in (await admin.login("nora", PASSWORD)).json()["error_description"]
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE users SET locked_until = now() - interval '1 second' WHERE username='nora'")
        )
    assert (await admin.login("nora", PASSWORD)).status_code == 200


@pytest.mark.parametrize("admin_overrides", [{"lockout_threshold": 2, "lockout_window_seconds": 60}])
async def test_failures_outside_the_window_do_not_add_up(admin: Admin) -> None:
    await admin.create_user("otto", PASSWORD)
    await admin.login("otto", "wrong-password-00")
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE users SET failed_window_started_at = now() - interval '2 minutes' "
                "WHERE username = 'otto'"
            )
        )
    await admin.login("otto", "wrong-password-00")
    assert (await admin.login("otto", PASSWORD)).status_code == 200


async def _hammer(admin: Admin, username: str, times: int) -> list[Any]:
    return [await admin.login(username, "wrong-password-00") for _ in range(times)]


@pytest.mark.parametrize(
    "admin_overrides", [{"rate_limit_per_username": 3, "rate_limit_per_ip": 100, "lockout_threshold": 100}]
)
async def test_rate_limit_per_username_answers_429_with_retry_after(admin: Admin) -> None:
    responses = await _hammer(admin, "somebody", 4)
    assert [r.status_code for r in responses] == [400, 400, 400, 429]
    limited = responses[-1]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"] == "slow_down"
    # Another username from the same address is still allowed.
    assert (await admin.login("admin", "wrong-password-00")).status_code == 400
    # The counter lives in Redis, shared by every replica.
    keys = await admin.app.state.redis.keys("artstore:ratelimit:*")
    assert b"artstore:ratelimit:user:somebody" in keys


async def test_rate_limit_per_ip_without_redis_uses_postgres(migrated_database_url: str) -> None:
    settings = admin_settings(
        migrated_database_url, None, rate_limit_per_ip=3, rate_limit_per_username=100, migrate_on_start=False
    )
    async with running_admin(settings) as admin:
        statuses = [(await admin.login(f"user{i}", "wrong-password-00")).status_code for i in range(4)]
        assert statuses == [400, 400, 400, 429]
        async with admin.app.state.engine.connect() as conn:
            count = await conn.scalar(
                sa.text("SELECT count FROM rate_limit_counters WHERE key = 'artstore:ratelimit:ip:10.0.0.1'")
            )
        assert count == 4
    # A second replica on the same database shares the counter.
    async with running_admin(settings) as replica:
        assert (await replica.login("anyone", "wrong-password-00")).status_code == 429
