"""The password policy (length, username, history, bcrypt's 72 bytes) and changing one's own password."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from admin_module.auth import tokens
from shared.db import unit_of_work
from tests.admin_module.conftest import Admin

PASSWORD = "first-Password-0001"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw-1", "at least 12 characters"),
        ("Policy-User-1", "must not be the username"),
        ("é" * 37, "longer than 72 bytes"),  # 37 characters, 74 bytes: bcrypt would drop the end
        ("x" * 73, "longer than 72 bytes"),
    ],
)
async def test_creating_a_user_enforces_the_policy(admin: Admin, password: str, message: str) -> None:
    response = await admin.client.post(
        "/api/v1/users",
        json={"username": "policy-user-1", "password": password, "role": "USER"},
        headers=await admin.headers(),
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "password_policy"
    assert message in response.json()["detail"]


async def test_exactly_72_bytes_is_accepted_and_is_the_whole_password(admin: Admin) -> None:
    password = "é" * 36  # 72 bytes
    await admin.create_user("seventytwo", password)
    assert (await admin.login("seventytwo", password)).status_code == 200
    assert (await admin.login("seventytwo", password[:-1] + "e")).status_code == 400
    # A longer password at login never matches (and is not an error of another kind).
    assert (await admin.login("seventytwo", password + "x")).status_code == 400


async def test_change_own_password(admin: Admin) -> None:
    await admin.create_user("paula", PASSWORD)
    login = (await admin.login("paula", PASSWORD)).json()
    headers = _bearer(login["access_token"])
    url = "/api/v1/users/me/password"

    wrong = await admin.client.post(
        url, json={"current_password": "nope", "new_password": "second-Password-02"}, headers=headers
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_password"
    same = await admin.client.post(
        url, json={"current_password": PASSWORD, "new_password": PASSWORD}, headers=headers
    )
    assert same.status_code == 422 and "last 1 passwords" in same.json()["detail"]
    ok = await admin.client.post(
        url, json={"current_password": PASSWORD, "new_password": "second-Password-02"}, headers=headers
    )
    assert ok.status_code == 204
    assert (await admin.login("paula", PASSWORD)).status_code == 400
    assert (await admin.login("paula", "second-Password-02")).status_code == 200
    # The sessions opened with the old password are over.
    refresh = await admin.client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": login["refresh_token"]}
    )
    assert refresh.status_code == 400
    me = (await admin.client.get("/api/v1/users/me", headers=headers)).json()
    assert me["password_changed_at"] is not None


async def test_the_last_five_passwords_cannot_be_reused(admin: Admin) -> None:
    await admin.create_user("quinn", "history-Password-00")
    headers = _bearer((await admin.login("quinn", "history-Password-00")).json()["access_token"])
    current = "history-Password-00"
    for i in range(1, 6):
        new = f"history-Password-{i:02d}"
        response = await admin.client.post(
            "/api/v1/users/me/password",
            json={"current_password": current, "new_password": new},
            headers=headers,
        )
        assert response.status_code == 204, response.text
        current = new
    # 01..05 are the last five; 00 is the sixth back and may come again, 02 may not.
    again = await admin.client.post(
        "/api/v1/users/me/password",
        json={"current_password": current, "new_password": "history-Password-02"},
        headers=headers,
    )
    assert again.status_code == 422 and "last 5 passwords" in again.json()["detail"]
    oldest = await admin.client.post(
        "/api/v1/users/me/password",
        json={"current_password": current, "new_password": "history-Password-00"},
        headers=headers,
    )
    assert oldest.status_code == 204


async def test_directory_users_cannot_change_their_password_here(admin: Admin) -> None:
    user_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO users (id, username, role, status, source, ldap_dn, created_at, updated_at) "
                "VALUES (:id, 'ldap-user', 'USER', 'ACTIVE', 'LDAP', "
                "'uid=ldap-user,ou=people,dc=test', :now, :now)"
            ),
            {"id": user_id, "now": now},
        )
    # No directory is configured in these tests, so mint the directory user's token directly.
    state = admin.app.state
    async with unit_of_work(state.sessions) as session:
        access = await tokens.access_token(
            session,
            ring=state.key_ring,
            issuer=admin.settings.jwt_issuer,
            audience="artstore",
            lifetime=60,
            subject=str(user_id),
            username="ldap-user",
            kind="user",
            role="USER",
            scopes={"files:read"},
        )
    response = await admin.client.post(
        "/api/v1/users/me/password",
        json={"current_password": "whatever-it-is", "new_password": "whatever-it-becomes"},
        headers=_bearer(access),
    )
    assert response.status_code == 409 and response.json()["code"] == "directory_user"


async def test_directory_users_cannot_log_in_without_a_directory(admin: Admin) -> None:
    now = datetime.now(UTC)
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO users (id, username, role, status, source, password_hash, created_at, "
                "updated_at) "
                "VALUES (:id, 'ldap-two', 'USER', 'ACTIVE', 'LDAP', NULL, :now, :now)"
            ),
            {"id": uuid.uuid4(), "now": now},
        )
    response = await admin.login("ldap-two", "any-password-at-all")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
