"""LDAP logins through the token endpoint: a real slapd, Postgres, Redis and SMTP."""

from __future__ import annotations

from typing import Any

import bcrypt
import jwt
import pytest

from admin_module.users import passwords
from tests.admin_module.conftest import ADMIN_PASSWORD, Admin, admin_settings, running_admin
from tests.admin_module.ldap.conftest import USERS, DirectoryAdmin, ldap_settings
from tests.support import servers
from tests.support.smtp import Mailbox


def claims(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    decoded: dict[str, Any] = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    return decoded


async def me(admin: Admin, access_token: str) -> dict[str, Any]:
    response = await admin.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("login", "role"), [("ivanov", "ADMIN"), ("petrov", "OPERATOR"), ("sidorov", "USER")]
)
async def test_directory_users_log_in_with_the_role_of_their_group(
    ldap_admin: Admin, login: str, role: str
) -> None:
    response = await ldap_admin.login(login, "test123")
    token = claims(response)
    assert token["role"] == role
    assert token["preferred_username"] == login
    assert token["kind"] == "user"
    assert response.json()["refresh_token"]
    user = await me(ldap_admin, response.json()["access_token"])
    assert user["source"] == "LDAP"
    assert user["ldap_dn"] == f"uid={login},{USERS}"
    assert user["email"] == f"{login}@artstore.local"
    assert user["full_name"]
    assert user["status"] == "ACTIVE"
    assert user["last_sync_at"] is not None


async def test_wrong_empty_and_unknown_credentials_are_refused_without_a_500(ldap_admin: Admin) -> None:
    for username, password in (("petrov", "wrong"), ("nobody", "test123"), ("*", "test123")):
        response = await ldap_admin.login(username, password)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_grant"
    empty = await ldap_admin.login("petrov", "")
    assert empty.status_code == 400, empty.text
    assert empty.json()["error"] in ("invalid_request", "invalid_grant")


async def test_a_person_without_a_mapped_group_is_refused_with_a_reason(
    ldap_admin: Admin, directory_admin: DirectoryAdmin
) -> None:
    directory_admin.add_user("kuznetsov", "pass-kuz-1")
    response = await ldap_admin.login("kuznetsov", "pass-kuz-1")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_grant"
    assert "no ArtStore role" in body["error_description"]


async def test_a_local_username_is_not_taken_over_by_the_directory(ldap_admin: Admin) -> None:
    await ldap_admin.create_user("petrov", "Local-petrov-pass-1", role="USER")
    assert (await ldap_admin.login("petrov", "test123")).status_code == 400
    token = claims(await ldap_admin.login("petrov", "Local-petrov-pass-1"))
    assert token["role"] == "USER"
    report = await ldap_admin.client.post("/api/v1/ldap/sync", headers=await ldap_admin.headers())
    assert report.status_code == 200, report.text
    assert any("petrov" in error for error in report.json()["errors"])
    users = await ldap_admin.client.get("/api/v1/users?q=petrov", headers=await ldap_admin.headers())
    [petrov] = users.json()["items"]
    assert petrov["source"] == "LOCAL"


async def test_with_ldap_precedence_the_directory_takes_a_local_username_over_at_login(
    database_url: str, redis_url: str, slapd: servers.Managed
) -> None:
    directory = ldap_settings(slapd.url, precedence="ldap", connect_timeout=1, operation_timeout=2)
    async with running_admin(admin_settings(database_url, redis_url, ldap=directory)) as admin:
        await admin.create_user("petrov", "Local-petrov-pass-1", role="USER")
        token = claims(await admin.login("petrov", "test123"))
        assert token["role"] == "OPERATOR"
        users = await admin.client.get("/api/v1/users?q=petrov", headers=await admin.headers())
        [petrov] = users.json()["items"]
        assert (petrov["source"], petrov["ldap_dn"]) == ("LDAP", f"uid=petrov,{USERS}")
        assert (await admin.login("petrov", "Local-petrov-pass-1")).status_code == 400

        # A LOCAL account the directory does not know keeps its password, also with the directory down.
        await admin.create_user("dave", "Local-dave-pass-1")
        assert claims(await admin.login("dave", "Local-dave-pass-1"))["role"] == "USER"
        assert (await admin.login("dave", "wrong-password-1")).status_code == 400
        slapd.stop()
        assert claims(await admin.login("admin", ADMIN_PASSWORD))["role"] == "ADMIN"
        assert (await admin.login("petrov", "test123")).status_code == 503


async def test_lockout_applies_to_directory_users(ldap_admin: Admin) -> None:
    assert (await ldap_admin.login("sidorov", "test123")).status_code == 200
    for _ in range(ldap_admin.settings.lockout_threshold):
        assert (await ldap_admin.login("sidorov", "wrong")).status_code == 400
    locked = await ldap_admin.login("sidorov", "test123")
    assert locked.status_code == 400
    assert "locked" in locked.json()["error_description"]


async def test_a_locked_directory_account_is_refused_without_asking_the_directory(
    ldap_admin: Admin, slapd: servers.Managed
) -> None:
    assert (await ldap_admin.login("sidorov", "test123")).status_code == 200  # his row exists now
    for _ in range(ldap_admin.settings.lockout_threshold):
        assert (await ldap_admin.login("sidorov", "wrong")).status_code == 400
    slapd.stop()  # any bind now would answer 503 temporarily_unavailable
    locked = await ldap_admin.login("sidorov", "test123")
    assert locked.status_code == 400, locked.text
    assert locked.json()["error"] == "invalid_grant"
    assert "locked until" in locked.json()["error_description"]
    assert (await ldap_admin.login("petrov", "test123")).status_code == 503  # not locked: asks


async def test_directory_logins_are_audited(ldap_admin: Admin) -> None:
    assert (await ldap_admin.login("ivanov", "test123")).status_code == 200
    assert (await ldap_admin.login("ivanov", "wrong")).status_code == 400
    events = await ldap_admin.client.get(
        "/api/v1/audit-events?action=auth.login", headers=await ldap_admin.headers()
    )
    assert events.status_code == 200, events.text
    ivanov = [e for e in events.json()["items"] if e["target"] == "ivanov"]
    assert {e["outcome"] for e in ivanov} == {"success", "failure"}
    created = await ldap_admin.client.get(
        "/api/v1/audit-events?action=user.created", headers=await ldap_admin.headers()
    )
    from_directory = [e for e in created.json()["items"] if e["details"].get("source") == "LDAP"]
    assert [(e["target"], e["details"]["role"]) for e in from_directory] == [("ivanov", "ADMIN")]


async def test_directory_users_cannot_change_or_reset_a_password_here(
    ldap_admin: Admin, mailbox: Mailbox
) -> None:
    access = (await ldap_admin.login("sidorov", "test123")).json()["access_token"]
    change = await ldap_admin.client.post(
        "/api/v1/users/me/password",
        json={"current_password": "test123", "new_password": "A-new-long-password-1"},
        headers={"Authorization": f"Bearer {access}"},
    )
    assert change.status_code == 409, change.text
    reset = await ldap_admin.client.post("/api/v1/auth/password-reset", json={"login": "sidorov"})
    assert reset.status_code == 202
    reset = await ldap_admin.client.post(
        "/api/v1/auth/password-reset", json={"login": "sidorov@artstore.local"}
    )
    assert reset.status_code == 202
    assert mailbox.messages == []


async def test_directory_down_ldap_logins_503_local_logins_and_tokens_keep_working(
    ldap_admin: Admin, slapd: servers.Managed
) -> None:
    access = (await ldap_admin.login("ivanov", "test123")).json()["access_token"]
    ready = await ldap_admin.client.get("/health/ready")
    assert ready.json()["checks"]["ldap"]["status"] == "ok"
    slapd.stop()

    down = await ldap_admin.login("ivanov", "test123")
    assert down.status_code == 503, down.text
    assert down.json()["error"] == "temporarily_unavailable"
    new_person = await ldap_admin.login("someone-new", "whatever")
    assert new_person.status_code == 503
    assert claims(await ldap_admin.login("admin", ADMIN_PASSWORD))["role"] == "ADMIN"
    assert (await me(ldap_admin, access))["username"] == "ivanov"

    ready = await ldap_admin.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["ldap"]["status"] == "degraded"
    status = await ldap_admin.client.get("/api/v1/ldap/status", headers=await ldap_admin.headers())
    assert status.status_code == 200, status.text
    assert status.json()["connection"]["state"] == "down"
    sync = await ldap_admin.client.post("/api/v1/ldap/sync", headers=await ldap_admin.headers())
    assert sync.status_code == 503
    assert sync.json()["code"] == "temporarily_unavailable"


async def test_with_a_directory_unknown_and_wrong_logins_cost_one_bcrypt_check_like_local(
    ldap_admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ldap_admin.create_user("dave", "Local-dave-pass-1")
    checks: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        checks.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", counting)
    counts = []
    for username in ("dave", "no-such-user", "petrov"):  # LOCAL, unknown everywhere, LDAP
        checks.clear()
        assert (await ldap_admin.login(username, "wrong-password-123")).status_code == 400
        counts.append(len(checks))
    assert counts == [1, 1, 1]
