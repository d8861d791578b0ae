"""The users API (ADMIN), the last-ADMIN rule, and the bootstrap ADMIN."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.admin_module.conftest import ADMIN_PASSWORD, FLEET_SECRETS, Admin, admin_settings, running_admin

PASSWORD = "users-api-password-1"


async def test_create_read_update_delete(admin: Admin) -> None:
    headers = await admin.headers()
    created = await admin.create_user(
        "Olga", PASSWORD, role="OPERATOR", email="olga@example.org", full_name="Olga K"
    )
    assert created["source"] == "LOCAL" and created["status"] == "ACTIVE" and created["role"] == "OPERATOR"
    assert "password_hash" not in created
    duplicate = await admin.client.post(
        "/api/v1/users", json={"username": "OLGA", "password": PASSWORD}, headers=headers
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "username_taken"

    url = f"/api/v1/users/{created['id']}"
    assert (await admin.client.get(url, headers=headers)).json()["email"] == "olga@example.org"
    patched = await admin.client.patch(
        url, json={"full_name": "Olga Kuznetsova", "role": "USER"}, headers=headers
    )
    assert patched.status_code == 200
    assert patched.json()["full_name"] == "Olga Kuznetsova" and patched.json()["role"] == "USER"
    bad = await admin.client.patch(url, json={"role": "ROOT"}, headers=headers)
    assert bad.status_code == 422

    assert (await admin.client.delete(url, headers=headers)).status_code == 204
    assert (await admin.client.get(url, headers=headers)).status_code == 404
    assert (await admin.login("olga", PASSWORD)).status_code == 400


async def test_list_filters_and_pages(admin: Admin) -> None:
    headers = await admin.headers()
    for name, role in (("amy", "USER"), ("bea", "OPERATOR"), ("cid", "USER"), ("dan", "USER")):
        await admin.create_user(name, PASSWORD, role=role, email=f"{name}@corp.example")
    users = (await admin.client.get("/api/v1/users", params={"role": "USER"}, headers=headers)).json()
    assert [u["username"] for u in users["items"]] == ["amy", "cid", "dan"] and users["total"] == 3
    found = (await admin.client.get("/api/v1/users", params={"q": "BEA@corp"}, headers=headers)).json()
    assert [u["username"] for u in found["items"]] == ["bea"]
    local = (await admin.client.get("/api/v1/users", params={"source": "LOCAL"}, headers=headers)).json()
    assert local["total"] == 5
    first = (await admin.client.get("/api/v1/users", params={"limit": 2}, headers=headers)).json()
    second = (
        await admin.client.get(
            "/api/v1/users", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
        )
    ).json()
    third = (
        await admin.client.get(
            "/api/v1/users", params={"limit": 2, "cursor": second["next_cursor"]}, headers=headers
        )
    ).json()
    names = [u["username"] for page in (first, second, third) for u in page["items"]]
    assert names == ["admin", "amy", "bea", "cid", "dan"] and third["next_cursor"] is None


async def test_only_admins_manage_users(admin: Admin) -> None:
    await admin.create_user("opal", PASSWORD, role="OPERATOR")
    operator = {"Authorization": f"Bearer {await admin.token('opal', PASSWORD)}"}
    assert (await admin.client.get("/api/v1/users", headers=operator)).status_code == 403
    assert (
        await admin.client.post(
            "/api/v1/users", json={"username": "x1", "password": PASSWORD}, headers=operator
        )
    ).status_code == 403
    unauthenticated = await admin.client.get("/api/v1/users")
    assert unauthenticated.status_code == 401 and unauthenticated.headers["www-authenticate"].startswith(
        "Bearer"
    )
    me = (await admin.client.get("/api/v1/users/me", headers=operator)).json()
    assert me["username"] == "opal" and me["role"] == "OPERATOR" and me["last_login_at"] is not None
    service = await admin.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=("svc-query", FLEET_SECRETS["svc-query"]),
    )
    svc = {"Authorization": f"Bearer {service.json()['access_token']}"}
    assert (await admin.client.get("/api/v1/users/me", headers=svc)).status_code == 403
    assert (await admin.client.get("/api/v1/users", headers=svc)).status_code == 403


async def test_an_admin_token_narrowed_below_identity_admin_manages_nothing(admin: Admin) -> None:
    narrowed = await admin.login("admin", ADMIN_PASSWORD, scope="files:read")
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "files:read"
    headers = {"Authorization": f"Bearer {narrowed.json()['access_token']}"}
    refused = [
        await admin.client.get("/api/v1/users", headers=headers),
        await admin.client.post(
            "/api/v1/users", json={"username": "x2", "password": PASSWORD}, headers=headers
        ),
        await admin.client.get("/api/v1/service-accounts", headers=headers),
        await admin.client.post("/api/v1/keys/rotate", headers=headers),
        await admin.client.get("/api/v1/audit-events", headers=headers),
        await admin.client.get("/api/v1/ldap/status", headers=headers),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert "identity:admin" in refused[0].json()["detail"]
    assert (await admin.client.get("/api/v1/users/me", headers=headers)).status_code == 200
    full = await admin.headers()
    names = [u["username"] for u in (await admin.client.get("/api/v1/users", headers=full)).json()["items"]]
    assert names == ["admin"]  # the narrowed POST created nobody


async def test_the_last_active_admin_can_be_neither_deleted_nor_demoted(admin: Admin) -> None:
    headers = await admin.headers()
    me = (await admin.client.get("/api/v1/users/me", headers=headers)).json()
    url = f"/api/v1/users/{me['id']}"
    for change in ({"role": "OPERATOR"}, {"status": "INACTIVE"}):
        response = await admin.client.patch(url, json=change, headers=headers)
        assert response.status_code == 409 and response.json()["code"] == "last_admin"
    assert (await admin.client.delete(url, headers=headers)).status_code == 409
    # A second ADMIN that is not active does not count.
    other = await admin.create_user("root2", PASSWORD, role="ADMIN")
    await admin.client.patch(f"/api/v1/users/{other['id']}", json={"status": "INACTIVE"}, headers=headers)
    assert (await admin.client.patch(url, json={"role": "USER"}, headers=headers)).status_code == 409
    await admin.client.patch(f"/api/v1/users/{other['id']}", json={"status": "ACTIVE"}, headers=headers)
    assert (await admin.client.patch(url, json={"role": "USER"}, headers=headers)).status_code == 200


async def test_bootstrap_generates_a_password_once_and_never_overwrites(
    migrated_database_url: str, tmp_path: Path
) -> None:
    secret_file = tmp_path / "state" / "admin-password"
    settings = admin_settings(
        migrated_database_url,
        None,
        bootstrap_password=None,
        bootstrap_password_file=secret_file,
        migrate_on_start=False,
    )
    async with running_admin(settings) as admin:
        generated = secret_file.read_text().strip()
        assert len(generated) >= 20
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert (await admin.login("admin", generated)).status_code == 200
    secret_file.unlink()
    again = admin_settings(
        migrated_database_url,
        None,
        bootstrap_password=ADMIN_PASSWORD,
        bootstrap_password_file=secret_file,
        migrate_on_start=False,
    )
    async with running_admin(again) as admin:
        assert not secret_file.exists()
        assert (await admin.login("admin", ADMIN_PASSWORD)).status_code == 400
        assert (await admin.login("admin", generated)).status_code == 200
        admins = (
            await admin.client.get(
                "/api/v1/users", params={"role": "ADMIN"}, headers=await admin.headers("admin", generated)
            )
        ).json()
        assert admins["total"] == 1


@pytest.mark.parametrize("admin_overrides", [{"bootstrap_username": "root"}])
async def test_bootstrap_username_is_configurable(admin: Admin) -> None:
    assert (await admin.login("root", ADMIN_PASSWORD)).status_code == 200
    assert (await admin.login("admin", ADMIN_PASSWORD)).status_code == 400
