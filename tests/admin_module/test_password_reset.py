"""Password reset by mail, end to end through a real SMTP server."""

from __future__ import annotations

import asyncio
import re

import sqlalchemy as sa

from tests.admin_module.conftest import Admin, admin_settings, running_admin
from tests.support.smtp import Mailbox

PASSWORD = "before-Reset-pass-01"
NEW_PASSWORD = "after-Reset-pass-02"


async def _token_from_mail(mailbox: Mailbox, to: str) -> str:
    message = await asyncio.to_thread(mailbox.wait_for, to)
    assert message["Subject"] == "ArtStore password reset"
    body = message.get_content()
    match = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


async def test_reset_flow_end_to_end(admin: Admin, mailbox: Mailbox) -> None:
    await admin.create_user("rita", PASSWORD, email="rita@example.org")
    old_session = (await admin.login("rita", PASSWORD)).json()
    requested = await admin.client.post("/api/v1/auth/password-reset", json={"login": "rita"})
    assert requested.status_code == 202
    token = await _token_from_mail(mailbox, "rita@example.org")

    confirm = await admin.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert confirm.status_code == 204, confirm.text
    assert (await admin.login("rita", PASSWORD)).status_code == 400
    assert (await admin.login("rita", NEW_PASSWORD)).status_code == 200
    # Single use.
    again = await admin.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "third-Reset-pass-03"}
    )
    assert again.status_code == 400 and again.json()["code"] == "invalid_token"
    # The user's earlier sessions are revoked.
    refresh = await admin.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": old_session["refresh_token"]},
    )
    assert refresh.status_code == 400
    # The token is kept hashed in Redis, never in clear.
    keys = await admin.app.state.redis.keys("artstore:pwreset:*")
    assert all(token.encode() not in key for key in keys)
    actions = [
        e["action"]
        for e in (await admin.client.get("/api/v1/audit-events", headers=await admin.headers())).json()[
            "items"
        ]
    ]
    assert "password.reset" in actions and "password.reset_requested" in actions


async def test_reset_by_email_address(admin: Admin, mailbox: Mailbox) -> None:
    await admin.create_user("sam", PASSWORD, email="Sam@Example.org")
    assert (
        await admin.client.post("/api/v1/auth/password-reset", json={"login": "sam@example.org"})
    ).status_code == 202
    assert await _token_from_mail(mailbox, "Sam@Example.org")


async def test_unknown_and_addressless_logins_get_202_and_no_mail(admin: Admin, mailbox: Mailbox) -> None:
    await admin.create_user("tom", PASSWORD)  # no e-mail address
    for login in ("tom", "nobody-at-all", "ghost@example.org"):
        response = await admin.client.post("/api/v1/auth/password-reset", json={"login": login})
        assert response.status_code == 202
    await asyncio.sleep(0.2)
    assert mailbox.messages == []


async def test_a_new_password_failing_the_policy_keeps_the_token(admin: Admin, mailbox: Mailbox) -> None:
    await admin.create_user("uma", PASSWORD, email="uma@example.org")
    await admin.client.post("/api/v1/auth/password-reset", json={"login": "uma"})
    token = await _token_from_mail(mailbox, "uma@example.org")
    url = "/api/v1/auth/password-reset/confirm"
    weak = await admin.client.post(url, json={"token": token, "new_password": "short"})
    assert weak.status_code == 422 and weak.json()["code"] == "password_policy"
    reused = await admin.client.post(url, json={"token": token, "new_password": PASSWORD})
    assert reused.status_code == 422
    assert (
        await admin.client.post(url, json={"token": token, "new_password": NEW_PASSWORD})
    ).status_code == 204


async def test_reset_tokens_in_postgres_without_redis(migrated_database_url: str, mailbox: Mailbox) -> None:
    settings = admin_settings(
        migrated_database_url, None, smtp_host=mailbox.host, smtp_port=mailbox.port, migrate_on_start=False
    )
    async with running_admin(settings) as admin:
        await admin.create_user("vera", PASSWORD, email="vera@example.org")
        await admin.client.post("/api/v1/auth/password-reset", json={"login": "vera"})
        token = await _token_from_mail(mailbox, "vera@example.org")
        async with admin.app.state.engine.begin() as conn:
            stored = list(await conn.scalars(sa.text("SELECT token_hash FROM password_reset_tokens")))
            assert len(stored) == 1 and stored[0] != token
        url = "/api/v1/auth/password-reset/confirm"
        assert (
            await admin.client.post(url, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204
        assert (
            await admin.client.post(url, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 400
        assert (await admin.login("vera", NEW_PASSWORD)).status_code == 200


async def test_an_expired_token_is_refused(migrated_database_url: str, mailbox: Mailbox) -> None:
    settings = admin_settings(
        migrated_database_url, None, smtp_host=mailbox.host, smtp_port=mailbox.port, migrate_on_start=False
    )
    async with running_admin(settings) as admin:
        await admin.create_user("walt", PASSWORD, email="walt@example.org")
        await admin.client.post("/api/v1/auth/password-reset", json={"login": "walt"})
        token = await _token_from_mail(mailbox, "walt@example.org")
        async with admin.app.state.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE password_reset_tokens SET expires_at = now() - interval '1 second'")
            )
        response = await admin.client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert response.status_code == 400
