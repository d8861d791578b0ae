"""The token endpoint: every grant, the token's claims, refresh rotation and reuse, revocation."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import bcrypt
import jwt
import pytest
import sqlalchemy as sa

from admin_module.users import passwords
from tests.admin_module.conftest import ADMIN_PASSWORD, FLEET_SECRETS, Admin
from tests.support.tokens import AUDIENCE, ISSUER

PASSWORD = "correct-horse-battery-9"


async def _claims(admin: Admin, token: str) -> dict[str, Any]:
    jwks = (await admin.client.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    key = jwt.PyJWK(jwk, algorithm="RS256")
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER
    )
    return claims


async def test_password_grant_issues_the_documented_claims(admin: Admin) -> None:
    user = await admin.create_user("alice", PASSWORD, role="OPERATOR")
    response = await admin.login("Alice", PASSWORD)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert len(body["refresh_token"]) >= 43  # 32 random bytes, URL-safe base64
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "RS256" and header["kid"]
    claims = await _claims(admin, body["access_token"])
    assert claims["sub"] == user["id"] and claims["preferred_username"] == "alice"
    assert claims["kind"] == "user" and claims["typ"] == "access" and claims["role"] == "OPERATOR"
    assert set(claims["scope"].split()) == {
        "files:read",
        "files:write",
        "files:delete",
        "storage:read",
        "storage:admin",
    }
    assert claims["exp"] - claims["iat"] == 1800 and claims["nbf"] == claims["iat"] and claims["jti"]
    assert body["scope"] == claims["scope"]


async def test_password_grant_can_narrow_but_not_widen_scope(admin: Admin) -> None:
    await admin.create_user("bob", PASSWORD)
    narrow = await admin.login("bob", PASSWORD, scope="files:read")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "files:read"
    wide = await admin.login("bob", PASSWORD, scope="files:read identity:admin")
    assert wide.status_code == 400 and wide.json()["error"] == "invalid_scope"


async def test_bad_password_and_unknown_user_are_invalid_grant(admin: Admin) -> None:
    await admin.create_user("carol", PASSWORD)
    wrong = await admin.login("carol", "not-the-password-1")
    unknown = await admin.login("nobody", "not-the-password-1")
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
        assert response.json()["error_description"] == "invalid username or password"


async def test_unknown_username_costs_one_bcrypt_check_like_a_wrong_password(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    await admin.create_user("dave", PASSWORD)
    checks: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        checks.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", counting)
    assert (await admin.login("dave", "wrong-password-123")).status_code == 400
    wrong_password_checks = list(checks)
    checks.clear()
    assert (await admin.login("no-such-user", "wrong-password-123")).status_code == 400
    assert len(wrong_password_checks) == len(checks) == 1
    # Both are real bcrypt hashes of the same cost: the same work.
    assert wrong_password_checks[0][:7] == checks[0][:7] == b"$2b$04$"


async def test_client_credentials_with_form_fields_and_basic(admin: Admin) -> None:
    secret = FLEET_SECRETS["svc-ingester"]
    form = await admin.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": "svc-ingester", "client_secret": secret},
    )
    basic = await admin.client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"}, auth=("svc-ingester", secret)
    )
    for response in (form, basic):
        assert response.status_code == 200, response.text
        body = response.json()
        assert "refresh_token" not in body
        claims = await _claims(admin, body["access_token"])
        assert claims["kind"] == "service" and "role" not in claims
        assert claims["sub"] == claims["preferred_username"] == "svc-ingester"
        assert set(claims["scope"].split()) == {
            "files:read",
            "files:write",
            "files:write-on-behalf",
            "files:delete",
            "files:relocate",
            "audit:write",
        }


async def test_client_credentials_can_narrow_but_not_widen_scope(admin: Admin) -> None:
    auth = ("svc-query", FLEET_SECRETS["svc-query"])
    url = "/api/v1/auth/token"
    narrow = await admin.client.post(
        url, data={"grant_type": "client_credentials", "scope": "feed:read"}, auth=auth
    )
    assert narrow.status_code == 200 and narrow.json()["scope"] == "feed:read"
    wide = await admin.client.post(
        url, data={"grant_type": "client_credentials", "scope": "feed:read files:write"}, auth=auth
    )
    assert wide.status_code == 400 and wide.json()["error"] == "invalid_scope"


async def test_client_credentials_failures_are_invalid_client(admin: Admin) -> None:
    wrong = await admin.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        auth=("svc-ingester", "nope-nope-nope"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    garbage = await admin.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    )
    assert garbage.status_code == 401
    missing = await admin.client.post("/api/v1/auth/token", data={"grant_type": "client_credentials"})
    assert missing.status_code == 401


async def test_unsupported_grant_and_missing_fields(admin: Admin) -> None:
    odd = await admin.client.post("/api/v1/auth/token", data={"grant_type": "implicit"})
    assert odd.status_code == 400 and odd.json()["error"] == "unsupported_grant_type"
    missing = await admin.client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "x"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    no_grant = await admin.client.post("/api/v1/auth/token", data={"username": "x"})
    assert no_grant.status_code == 400 and no_grant.json()["error"] == "invalid_request"
    assert (await admin.client.post("/api/v1/auth/revoke", data={})).status_code == 200


async def _refresh(admin: Admin, token: str) -> Any:
    return await admin.client.post(
        "/api/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


async def test_refresh_rotates_and_reuse_revokes_the_family(admin: Admin) -> None:
    await admin.create_user("erin", PASSWORD)
    first = (await admin.login("erin", PASSWORD)).json()
    second = await _refresh(admin, first["refresh_token"])
    assert second.status_code == 200, second.text
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert (await _claims(admin, second_body["access_token"]))["preferred_username"] == "erin"
    third = (await _refresh(admin, second_body["refresh_token"])).json()

    # An attacker replays the first (already rotated) token: the whole family is revoked ...
    replay = await _refresh(admin, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "already used" in replay.json()["error_description"]
    # ... so the legitimate, newest token stops working too.
    latest = await _refresh(admin, third["refresh_token"])
    assert latest.status_code == 400 and latest.json()["error"] == "invalid_grant"
    # A separate login (another family) is unaffected.
    other = (await admin.login("erin", PASSWORD)).json()
    assert (await _refresh(admin, other["refresh_token"])).status_code == 200

    events = (
        await admin.client.get(
            "/api/v1/audit-events", params={"action": "token.refresh_reuse"}, headers=await admin.headers()
        )
    ).json()["items"]
    assert len(events) == 1 and events[0]["outcome"] == "failure" and events[0]["details"]["revoked"] == 3


async def test_refresh_tokens_are_stored_hashed(admin: Admin) -> None:
    await admin.create_user("frank", PASSWORD)
    refresh = (await admin.login("frank", PASSWORD)).json()["refresh_token"]
    async with admin.app.state.engine.connect() as conn:
        stored = list(await conn.scalars(sa.text("SELECT token_hash FROM refresh_tokens")))
    assert refresh not in stored and all(len(h) == 64 for h in stored)


async def test_revoke_ends_the_session_and_always_answers_200(admin: Admin) -> None:
    await admin.create_user("gina", PASSWORD)
    refresh = (await admin.login("gina", PASSWORD)).json()["refresh_token"]
    revoked = await admin.client.post(
        "/api/v1/auth/revoke", data={"token": refresh, "token_type_hint": "refresh_token"}
    )
    assert revoked.status_code == 200
    assert (await _refresh(admin, refresh)).status_code == 400
    assert (await admin.client.post("/api/v1/auth/revoke", data={"token": "unknown"})).status_code == 200


async def test_refresh_follows_a_role_change(admin: Admin) -> None:
    user = await admin.create_user("hank", PASSWORD, role="OPERATOR")
    refresh = (await admin.login("hank", PASSWORD)).json()["refresh_token"]
    patched = await admin.client.patch(
        f"/api/v1/users/{user['id']}", json={"role": "USER"}, headers=await admin.headers()
    )
    assert patched.status_code == 200
    body = (await _refresh(admin, refresh)).json()
    claims = await _claims(admin, body["access_token"])
    assert claims["role"] == "USER" and "storage:admin" not in claims["scope"]


async def test_inactive_user_cannot_log_in_or_refresh(admin: Admin) -> None:
    user = await admin.create_user("ivy", PASSWORD)
    refresh = (await admin.login("ivy", PASSWORD)).json()["refresh_token"]
    await admin.client.patch(
        f"/api/v1/users/{user['id']}", json={"status": "INACTIVE"}, headers=await admin.headers()
    )
    login = await admin.login("ivy", PASSWORD)
    assert login.status_code == 400 and login.json()["error_description"] == "account is not active"
    assert (await _refresh(admin, refresh)).status_code == 400


async def test_login_success_and_failure_are_audited(admin: Admin) -> None:
    await admin.login("admin", "wrong-password-xyz")
    headers = await admin.headers()
    items = (
        await admin.client.get("/api/v1/audit-events", params={"action": "auth.login"}, headers=headers)
    ).json()["items"]
    outcomes = [(e["outcome"], e["target"]) for e in items]
    assert ("failure", "admin") in outcomes and ("success", "admin") in outcomes
    failure = next(e for e in items if e["outcome"] == "failure")
    assert failure["client_ip"] == "10.0.0.1" and failure["details"]["reason"] == "bad_credentials"
    assert uuid.UUID(failure["id"]) and failure["request_id"]
    assert ADMIN_PASSWORD not in str(items)
