"""The directory sync: on demand, scheduled once across replicas, dismissals and role changes."""

from __future__ import annotations

import asyncio
from typing import Any

from asgi_lifespan import LifespanManager

from admin_module.app import create_app
from admin_module.ldap.runner import run_sync
from tests.admin_module.conftest import Admin, admin_settings, running_admin
from tests.admin_module.ldap.conftest import DirectoryAdmin, ldap_settings
from tests.support import servers


async def sync(admin: Admin) -> dict[str, Any]:
    return await sync_as(admin, await admin.headers())


async def sync_as(admin: Admin, headers: dict[str, str]) -> dict[str, Any]:
    response = await admin.client.post("/api/v1/ldap/sync", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def directory_users(admin: Admin, headers: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    headers = headers or await admin.headers()
    response = await admin.client.get("/api/v1/users?source=LDAP", headers=headers)
    assert response.status_code == 200, response.text
    return {u["username"]: u for u in response.json()["items"]}


async def test_sync_creates_then_leaves_users_alone(ldap_admin: Admin) -> None:
    first = await sync(ldap_admin)
    assert (first["created"], first["updated"], first["deactivated"], first["errors"]) == (3, 0, 0, [])
    users = await directory_users(ldap_admin)
    assert {name: u["role"] for name, u in users.items()} == {
        "ivanov": "ADMIN",
        "petrov": "OPERATOR",
        "sidorov": "USER",
    }
    assert all(u["status"] == "ACTIVE" and u["last_sync_at"] for u in users.values())
    second = await sync(ldap_admin)
    assert (second["created"], second["updated"], second["deactivated"], second["unchanged"]) == (0, 0, 0, 3)


async def test_dismissed_user_is_deactivated_and_his_refresh_token_stops_working(
    ldap_admin: Admin, directory_admin: DirectoryAdmin
) -> None:
    login = await ldap_admin.login("sidorov", "test123")
    refresh = login.json()["refresh_token"]
    directory_admin.dismiss("sidorov")  # still a member of artstore-users: location decides

    report = await sync(ldap_admin)
    assert report["deactivated"] == 1
    sidorov = (await directory_users(ldap_admin))["sidorov"]
    assert sidorov["status"] == "INACTIVE"

    refreshed = await ldap_admin.client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"
    again = await ldap_admin.login("sidorov", "test123")
    assert again.status_code == 400
    assert "dismissed" in again.json()["error_description"]
    events = await ldap_admin.client.get(
        "/api/v1/audit-events?action=user.deactivated", headers=await ldap_admin.headers()
    )
    [event] = events.json()["items"]
    assert event["target"] == "sidorov"
    assert event["details"]["reason"] == "dismissed"
    assert event["details"]["refresh_tokens_revoked"] == 1


async def test_dismissal_at_login_deactivates_at_once(
    ldap_admin: Admin, directory_admin: DirectoryAdmin
) -> None:
    refresh = (await ldap_admin.login("sidorov", "test123")).json()["refresh_token"]
    directory_admin.dismiss("sidorov")
    refused = await ldap_admin.login("sidorov", "test123")
    assert refused.status_code == 400
    assert (await directory_users(ldap_admin))["sidorov"]["status"] == "INACTIVE"
    refreshed = await ldap_admin.client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert refreshed.status_code == 400


async def test_added_to_admins_and_synced_petrov_is_promoted(
    ldap_admin: Admin, directory_admin: DirectoryAdmin
) -> None:
    await sync(ldap_admin)
    directory_admin.add_to_group("petrov", "artstore-admins")
    report = await sync(ldap_admin)
    assert (report["updated"], report["created"], report["deactivated"]) == (1, 0, 0)
    assert (await directory_users(ldap_admin))["petrov"]["role"] == "ADMIN"
    login = await ldap_admin.login("petrov", "test123")
    assert login.status_code == 200
    users = await ldap_admin.client.get(
        "/api/v1/users", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert users.status_code == 200  # an ADMIN-only endpoint


async def test_a_person_gone_from_the_directory_is_deactivated(
    ldap_admin: Admin, directory_admin: DirectoryAdmin
) -> None:
    directory_admin.add_user("kuznetsov", "pass-kuz-1")
    directory_admin.add_to_group("kuznetsov", "artstore-users")
    await sync(ldap_admin)
    directory_admin.delete("uid=kuznetsov,ou=users,dc=artstore,dc=local")
    report = await sync(ldap_admin)
    assert report["deactivated"] == 1
    assert (await directory_users(ldap_admin))["kuznetsov"]["status"] == "INACTIVE"


async def test_status_shows_the_last_run_and_the_connection(
    ldap_admin: Admin, slapd: servers.Managed
) -> None:
    headers = await ldap_admin.headers()
    before = (await ldap_admin.client.get("/api/v1/ldap/status", headers=headers)).json()
    assert before["enabled"] is True
    assert before["last_sync"] is None
    assert before["connection"]["state"] == "up"
    assert before["connection"]["server"] == slapd.url
    await sync(ldap_admin)
    after = (await ldap_admin.client.get("/api/v1/ldap/status", headers=headers)).json()
    assert after["last_sync"]["outcome"] == "success"
    assert after["last_sync"]["created"] == 3
    assert after["last_sync"]["trigger"] == "manual"
    assert after["last_successful_sync_at"] == after["last_sync"]["at"]
    assert after["sync_interval_seconds"] == 900


async def test_sync_and_status_are_for_admins_only(ldap_admin: Admin) -> None:
    operator = (await ldap_admin.login("petrov", "test123")).json()["access_token"]
    headers = {"Authorization": f"Bearer {operator}"}
    assert (await ldap_admin.client.post("/api/v1/ldap/sync", headers=headers)).status_code == 403
    assert (await ldap_admin.client.get("/api/v1/ldap/status", headers=headers)).status_code == 403
    assert (await ldap_admin.client.post("/api/v1/ldap/sync")).status_code == 401


async def test_scheduled_sync_runs_once_across_replicas(
    database_url: str, redis_url: str, slapd: servers.Managed
) -> None:
    settings = admin_settings(database_url, redis_url, ldap=ldap_settings(slapd.url))
    apps = [create_app(settings), create_app(settings)]
    async with (
        LifespanManager(apps[0], startup_timeout=60, shutdown_timeout=30),
        LifespanManager(apps[1], startup_timeout=60, shutdown_timeout=30),
    ):
        replicas = [app.state for app in apps]
        results = await asyncio.gather(
            *(run_sync(r.sessions, r.directory, trigger="scheduled") for r in replicas for _ in range(2))
        )
        ran = [r for r in results if r is not None]
        assert len(ran) == 1
        assert ran[0].created == 3
        # Not due again until the interval has passed; a manual run always runs.
        assert await run_sync(replicas[1].sessions, replicas[1].directory, trigger="scheduled") is None
        manual = await run_sync(replicas[1].sessions, replicas[1].directory, trigger="manual")
        assert manual is not None and manual.unchanged == 3


async def test_ldap_precedence_takes_over_a_local_user_at_sync(
    database_url: str, redis_url: str, slapd: servers.Managed
) -> None:
    settings = admin_settings(database_url, redis_url, ldap=ldap_settings(slapd.url, precedence="ldap"))
    async with running_admin(settings) as admin:
        await admin.create_user("petrov", "Local-petrov-pass-1", role="USER")
        report = await sync(admin)
        assert report["errors"] == []
        petrov = (await directory_users(admin))["petrov"]
        assert (petrov["source"], petrov["role"]) == ("LDAP", "OPERATOR")
        assert (await admin.login("petrov", "Local-petrov-pass-1")).status_code == 400
        assert (await admin.login("petrov", "test123")).status_code == 200


async def test_the_lifespan_runs_scheduled_syncs(
    database_url: str, redis_url: str, slapd: servers.Managed
) -> None:
    settings = admin_settings(
        database_url, redis_url, ldap=ldap_settings(slapd.url, sync_interval_seconds=0.3)
    )
    async with running_admin(settings) as admin:
        users: dict[str, Any] = {}
        for _ in range(50):
            await asyncio.sleep(0.1)
            users = await directory_users(admin)
            if len(users) == 3:
                break
        assert sorted(users) == ["ivanov", "petrov", "sidorov"]
        status = await admin.client.get("/api/v1/ldap/status", headers=await admin.headers())
        assert status.json()["last_sync"]["trigger"] == "scheduled"


async def test_without_a_directory_ldap_is_reported_disabled(admin: Admin) -> None:
    headers = await admin.headers()
    status = await admin.client.get("/api/v1/ldap/status", headers=headers)
    assert status.status_code == 200, status.text
    assert status.json()["enabled"] is False
    assert status.json()["connection"]["state"] == "disabled"
    sync_now = await admin.client.post("/api/v1/ldap/sync", headers=headers)
    assert sync_now.status_code == 409
    assert sync_now.json()["code"] == "ldap_disabled"
    ready = await admin.client.get("/health/ready")
    assert "ldap" not in ready.json()["checks"]
    assert (await admin.login("ivanov", "test123")).status_code == 400


async def test_a_missing_users_base_aborts_the_sync_and_deactivates_nobody(
    ldap_admin: Admin, directory_admin: DirectoryAdmin
) -> None:
    refresh = (await ldap_admin.login("sidorov", "test123")).json()["refresh_token"]
    await sync(ldap_admin)
    directory_admin.rename("ou=users,dc=artstore,dc=local", "ou=people")  # the base now answers noSuchObject

    report = await sync(ldap_admin)
    assert report["aborted"] and "ou=users,dc=artstore,dc=local" in report["aborted"]
    assert report["aborted"] in report["errors"]
    assert (report["created"], report["updated"], report["deactivated"]) == (0, 0, 0)
    users = await directory_users(ldap_admin)
    assert {name: u["status"] for name, u in users.items()} == dict.fromkeys(
        ("ivanov", "petrov", "sidorov"), "ACTIVE"
    )
    refreshed = await ldap_admin.client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert refreshed.status_code == 200, refreshed.text
    status = (await ldap_admin.client.get("/api/v1/ldap/status", headers=await ldap_admin.headers())).json()
    assert status["last_sync"]["outcome"] == "failure"
    assert status["last_sync"]["aborted"] == report["aborted"]
    events = await ldap_admin.client.get(
        "/api/v1/audit-events?action=user.deactivated", headers=await ldap_admin.headers()
    )
    assert events.json()["items"] == []


async def test_a_sync_deactivating_too_many_people_changes_nothing(
    database_url: str, redis_url: str, slapd: servers.Managed
) -> None:
    directory_admin = DirectoryAdmin(slapd.url)
    settings = admin_settings(
        database_url, redis_url, ldap=ldap_settings(slapd.url, sync_deactivation_floor=1)
    )
    async with running_admin(settings) as admin:
        await sync(admin)
        directory_admin.dismiss("petrov")
        directory_admin.dismiss("sidorov")  # 2 of 3: over the floor and over half

        report = await sync(admin)
        assert report["aborted"] and "2 of 3" in report["aborted"]
        assert report["deactivated"] == 0
        users = await directory_users(admin)
        assert users["petrov"]["status"] == users["sidorov"]["status"] == "ACTIVE"
        status = (await admin.client.get("/api/v1/ldap/status", headers=await admin.headers())).json()
        assert status["last_sync"]["aborted"] == report["aborted"]
        assert status["last_successful_sync_at"] != status["last_sync"]["at"]
        assert status["sync_max_deactivation_ratio"] == 0.5

    # With the limit lifted the same run goes through.
    lifted = ldap_settings(slapd.url, sync_deactivation_floor=1, sync_max_deactivation_ratio=1)
    async with running_admin(admin_settings(database_url, redis_url, ldap=lifted)) as admin:
        report = await sync(admin)
        assert (report["aborted"], report["deactivated"]) == (None, 2)
        users = await directory_users(admin)
        assert users["petrov"]["status"] == users["sidorov"]["status"] == "INACTIVE"


async def _ivanov_is_the_last_admin(admin: Admin) -> dict[str, str]:
    """Sync, then (as ivanov) demote the bootstrap admin: ivanov is the only ACTIVE ADMIN left."""
    await sync(admin)
    ivanov = {"Authorization": f"Bearer {await admin.token('ivanov', 'test123')}"}
    [local] = (await admin.client.get("/api/v1/users?q=admin&source=LOCAL", headers=ivanov)).json()["items"]
    demoted = await admin.client.patch(f"/api/v1/users/{local['id']}", json={"role": "USER"}, headers=ivanov)
    assert demoted.status_code == 200, demoted.text
    return ivanov


async def test_the_sync_never_deactivates_or_demotes_the_last_active_admin(
    ldap_admin: Admin, directory_admin: DirectoryAdmin
) -> None:
    ivanov = await _ivanov_is_the_last_admin(ldap_admin)
    directory_admin.dismiss("ivanov")
    report = await sync_as(ldap_admin, ivanov)
    assert report["deactivated"] == 0
    assert any(e.startswith("ivanov: not deactivated") and "last active ADMIN" in e for e in report["errors"])
    row = (await directory_users(ldap_admin, ivanov))["ivanov"]
    assert (row["status"], row["role"]) == ("ACTIVE", "ADMIN")
    refused = await ldap_admin.login("ivanov", "test123")  # dismissed: no login, but still ADMIN
    assert refused.status_code == 400 and "dismissed" in refused.json()["error_description"]
    assert (await directory_users(ldap_admin, ivanov))["ivanov"]["status"] == "ACTIVE"


async def test_the_last_admin_demoted_in_the_directory_stays_admin_until_another_is_made(
    ldap_admin: Admin, directory_admin: DirectoryAdmin
) -> None:
    ivanov = await _ivanov_is_the_last_admin(ldap_admin)
    directory_admin.add_to_group("nobody", "artstore-admins")  # a groupOfNames needs one member
    directory_admin.remove_from_group("ivanov", "artstore-admins")
    directory_admin.add_to_group("ivanov", "artstore-users")
    report = await sync_as(ldap_admin, ivanov)
    assert any(e.startswith("ivanov: not demoted to USER") for e in report["errors"]), report
    assert (await directory_users(ldap_admin, ivanov))["ivanov"]["role"] == "ADMIN"
    login = await ldap_admin.login("ivanov", "test123")
    assert login.status_code == 400, login.text
    assert "last active ADMIN" in login.json()["error_description"]

    # Handing ADMIN over in one run works: petrov is promoted before ivanov is demoted.
    directory_admin.add_to_group("petrov", "artstore-admins")
    report = await sync_as(ldap_admin, ivanov)
    assert report["errors"] == [] and report["updated"] == 2, report
    roles = {name: u["role"] for name, u in (await directory_users(ldap_admin, ivanov)).items()}
    assert (roles["ivanov"], roles["petrov"]) == ("USER", "ADMIN")
