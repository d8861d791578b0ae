"""Signing keys: generated once, encrypted at rest, rotated (by hand and on schedule) with
earlier tokens valid until they expire, and the JWKS listing exactly the keys that may verify."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization

from admin_module.app import key_ring
from admin_module.keys import crypto
from admin_module.keys.service import KeyEncryptionKeyMismatch
from shared.db import unit_of_work
from tests.admin_module.conftest import KEK, Admin, admin_settings, running_admin

UNUSED_URL = "postgresql+asyncpg://127.0.0.1:9/unused"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _kids(admin: Admin) -> list[str]:
    return [k["kid"] for k in (await admin.client.get("/.well-known/jwks.json")).json()["keys"]]


async def test_one_key_at_first_start_and_the_same_after_a_restart(database_url: str, redis_url: str) -> None:
    settings = admin_settings(database_url, redis_url)
    async with running_admin(settings) as admin:
        first = await _kids(admin)
        jwk = (await admin.client.get("/.well-known/jwks.json")).json()["keys"][0]
        assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["use"] == "sig"
        assert "d" not in jwk and "p" not in jwk  # public only
        token = await admin.token()
    async with running_admin(settings) as admin:
        assert await _kids(admin) == first
        assert (await admin.client.get("/api/v1/users/me", headers=_bearer(token))).status_code == 200


async def test_private_keys_are_encrypted_with_the_kek(admin: Admin) -> None:
    async with admin.app.state.engine.connect() as conn:
        kid, sealed = (
            await conn.execute(sa.text("SELECT kid, private_key_encrypted FROM signing_keys"))
        ).one()
    sealed = bytes(sealed)
    with pytest.raises(ValueError):
        serialization.load_der_private_key(sealed, password=None)
    assert b"PRIVATE KEY" not in sealed
    key = crypto.unseal(sealed, kid=kid, kek=KEK)
    assert key.key_size == 2048
    with pytest.raises(InvalidTag):
        crypto.unseal(sealed, kid=kid, kek="another-key-encryption-key-123456")
    with pytest.raises(InvalidTag):
        crypto.unseal(sealed, kid="other-kid", kek=KEK)


async def test_a_different_kek_stops_the_start(migrated_database_url: str) -> None:
    async with running_admin(admin_settings(migrated_database_url, None, migrate_on_start=False)):
        pass
    other = admin_settings(
        migrated_database_url,
        None,
        migrate_on_start=False,
        key_encryption_key="a-different-kek-0123456789abcdef",
    )
    with pytest.raises(KeyEncryptionKeyMismatch, match="cannot be decrypted"):
        async with running_admin(other):
            pass


def test_a_placeholder_kek_is_refused_outside_development() -> None:
    database_url = UNUSED_URL
    with pytest.raises(ValueError, match="key_encryption_key"):
        admin_settings(database_url, None, key_encryption_key=None)
    with pytest.raises(ValueError, match="placeholder"):
        admin_settings(database_url, None, key_encryption_key="change-me-please-now")
    development = admin_settings(database_url, None, key_encryption_key=None, env="development")
    assert development.kek()


def test_the_kek_can_come_from_a_file(tmp_path: Path) -> None:
    database_url = UNUSED_URL
    path = tmp_path / "kek"
    path.write_text("kek-read-from-a-mounted-file-0123456789\n")
    settings = admin_settings(database_url, None, key_encryption_key=None, key_encryption_key_file=path)
    assert settings.kek() == "kek-read-from-a-mounted-file-0123456789"
    # A key from a file is held to the same length as one set directly.
    path.write_text("short-kek\n")
    with pytest.raises(ValueError, match="key_encryption_key"):
        admin_settings(database_url, None, key_encryption_key=None, key_encryption_key_file=path)


async def test_rotation_keeps_earlier_tokens_valid_until_they_expire(admin: Admin) -> None:
    headers = await admin.headers()
    old_token = headers["Authorization"].removeprefix("Bearer ")
    (old_kid,) = await _kids(admin)

    rotated = await admin.client.post("/api/v1/keys/rotate", headers=headers)
    assert rotated.status_code == 201, rotated.text
    new_kid = rotated.json()["kid"]
    assert new_kid != old_kid and rotated.json()["state"] == "active"
    assert set(await _kids(admin)) == {old_kid, new_kid}

    listed = {k["kid"]: k for k in (await admin.client.get("/api/v1/keys", headers=headers)).json()["items"]}
    assert listed[old_kid]["state"] == "retiring" and listed[new_kid]["state"] == "active"
    # The old key stays until every token it signed has expired (lifetime 30 min + 30 s leeway).
    retired_at = listed[old_kid]["retired_at"]
    verify_until = listed[old_kid]["verify_until"]
    window = datetime.fromisoformat(verify_until) - datetime.fromisoformat(retired_at)
    assert window == timedelta(seconds=1800 + 30)

    # A token signed before the rotation still works; new tokens use the new key.
    assert (await admin.client.get("/api/v1/users/me", headers=_bearer(old_token))).status_code == 200
    new_token = await admin.token()
    assert (await admin.client.get("/api/v1/users/me", headers=_bearer(new_token))).status_code == 200
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid

    # Once the retiring window has passed, the old key leaves the JWKS and is listed "retired".
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE signing_keys SET verify_until = now() - interval '1 second' WHERE kid = :kid"),
            {"kid": old_kid},
        )
    assert await _kids(admin) == [new_kid]
    listed = {
        k["kid"]: k
        for k in (await admin.client.get("/api/v1/keys", headers=_bearer(new_token))).json()["items"]
    }
    assert listed[old_kid]["state"] == "retired"
    events = (
        await admin.client.get(
            "/api/v1/audit-events", params={"action": "key.rotated"}, headers=_bearer(new_token)
        )
    ).json()["items"]
    assert events[0]["target"] == new_kid and events[0]["details"]["previous"] == old_kid


async def test_keys_api_needs_an_admin(admin: Admin) -> None:
    await admin.create_user("xena", "plain-user-password-1")
    user = _bearer(await admin.token("xena", "plain-user-password-1"))
    assert (await admin.client.get("/api/v1/keys", headers=user)).status_code == 403
    assert (await admin.client.post("/api/v1/keys/rotate", headers=user)).status_code == 403
    assert (await admin.client.get("/api/v1/keys")).status_code == 401


async def test_scheduled_rotation_runs_once_across_replicas(admin: Admin) -> None:
    state = admin.app.state
    (before,) = await _kids(admin)
    ring = key_ring(admin.settings)
    # Not due yet: nothing happens.
    async with unit_of_work(state.sessions) as session:
        assert await ring.rotate_if_due(session) is None
    ring.rotation_interval = timedelta(0)
    # Two replicas look at the same moment: the advisory lock lets exactly one rotate.
    other = key_ring(admin.settings)
    other.rotation_interval = timedelta(0)

    async def check(r: object) -> str | None:
        async with unit_of_work(state.sessions) as session:
            result = await r.rotate_if_due(session)  # type: ignore[attr-defined]
            await asyncio.sleep(0.2)  # hold the transaction (and the lock) a moment
            return result  # type: ignore[no-any-return]

    results = await asyncio.gather(check(ring), check(other))
    rotated = [r for r in results if r is not None]
    assert len(rotated) == 1
    kids = await _kids(admin)
    assert set(kids) == {before, rotated[0]}
    # The replica's tokens are signed by the new key, and the admin's own verifier accepts them.
    token = await admin.token()
    assert (await admin.client.get("/api/v1/users/me", headers=_bearer(token))).status_code == 200
