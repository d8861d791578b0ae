"""The key ring: which key signs, which keys verify, and rotation.

Exactly one key is active (signs new tokens). Rotation retires it: a retired key stays in the
JWKS until ``verify_until`` (its retirement plus the access-token lifetime plus the verifiers'
leeway), after which no token it signed can still be live. Creation and rotation take a
Postgres advisory lock, so several replicas starting or rotating at once make one key.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_module.audit import service as audit
from admin_module.audit.schemas import Actor
from admin_module.deps import RequestContext
from admin_module.keys import crypto, repository
from admin_module.keys.schemas import KeyList, KeyOut, KeyState
from shared.db import create_engine, session_factory, unit_of_work

log = logging.getLogger("artstore.admin.keys")


class KeyEncryptionKeyMismatch(RuntimeError):
    """The stored private keys were sealed under another key-encryption key."""


@dataclass
class KeyRing:
    kek: str
    key_size: int
    token_lifetime: timedelta
    leeway: timedelta
    rotation_interval: timedelta

    def __post_init__(self) -> None:
        self._private: dict[str, rsa.RSAPrivateKey] = {}

    async def _create(self, session: AsyncSession, now: datetime) -> str:
        kid, private_key, jwk = await anyio.to_thread.run_sync(crypto.generate, self.key_size)
        sealed = crypto.seal(private_key, kid=kid, kek=self.kek)
        await repository.insert(
            session, kid=kid, algorithm="RS256", public_jwk=jwk, private_key_encrypted=sealed, created_at=now
        )
        self._private[kid] = private_key
        return kid

    async def ensure_active(self, session: AsyncSession) -> str:
        """At start: the active key, created when there is none."""
        await repository.lock(session)
        current = await repository.active(session)
        if current is not None:
            # Decrypt now, so a wrong key-encryption key stops the start instead of every login.
            self._unseal(current)
            return str(current["kid"])
        kid = await self._create(session, datetime.now(UTC))
        log.info("signing_key_created", extra={"kid": kid})
        return kid

    async def rotate(self, session: AsyncSession) -> tuple[str | None, str]:
        """Retire the active key and make a new one. Returns (old kid, new kid)."""
        await repository.lock(session)
        now = datetime.now(UTC)
        current = await repository.active(session)
        old = None
        if current is not None:
            old = str(current["kid"])
            await repository.retire(
                session, old, at=now, verify_until=now + self.token_lifetime + self.leeway
            )
        new = await self._create(session, now)
        log.info("signing_key_rotated", extra={"old_kid": old, "kid": new})
        return old, new

    async def rotate_if_due(self, session: AsyncSession) -> str | None:
        """The scheduled rotation; only the replica holding the lock looks."""
        if not await repository.try_lock(session):
            return None
        current = await repository.active(session)
        if current is not None and datetime.now(UTC) - current["created_at"] < self.rotation_interval:
            return None
        old, new = await self.rotate(session)
        await audit.record(
            session, action="key.rotated", target=new, details={"previous": old, "scheduled": True}
        )
        return new

    async def signing_key(self, session: AsyncSession) -> tuple[str, rsa.RSAPrivateKey]:
        current = await repository.active(session)
        if current is None:
            raise RuntimeError("no active signing key")
        return str(current["kid"]), self._unseal(current)

    def _unseal(self, row: dict[str, Any]) -> rsa.RSAPrivateKey:
        kid = str(row["kid"])
        if kid not in self._private:
            try:
                self._private[kid] = crypto.unseal(bytes(row["private_key_encrypted"]), kid=kid, kek=self.kek)
            except InvalidTag as exc:
                raise KeyEncryptionKeyMismatch(
                    f"signing key {kid} cannot be decrypted: the key-encryption key is not the one it was "
                    "sealed with"
                ) from exc
        return self._private[kid]

    async def jwks(self, session: AsyncSession) -> dict[str, Any]:
        rows = await repository.verifying(session, datetime.now(UTC))
        return {"keys": [row["public_jwk"] for row in rows]}


def _state(row: dict[str, Any], now: datetime) -> KeyState:
    if row["retired_at"] is None:
        return "active"
    return "retiring" if row["verify_until"] > now else "retired"


async def list_keys(session: AsyncSession) -> KeyList:
    now = datetime.now(UTC)
    rows = await repository.all_keys(session)
    items = [
        KeyOut(
            kid=r["kid"],
            algorithm=r["algorithm"],
            created_at=r["created_at"],
            retired_at=r["retired_at"],
            verify_until=r["verify_until"],
            state=_state(r, now),
        )
        for r in rows
    ]
    return KeyList(items=items)


async def rotate(session: AsyncSession, *, ring: KeyRing, actor: Actor, ctx: RequestContext) -> KeyOut:
    old, new = await ring.rotate(session)
    await audit.record(
        session, action="key.rotated", ctx=ctx, actor=actor, target=new, details={"previous": old}
    )
    row = await repository.by_kid(session, new)
    if row is None:
        raise RuntimeError(f"signing key {new} vanished after creation")
    return KeyOut(
        kid=new,
        algorithm="RS256",
        created_at=row["created_at"],
        retired_at=None,
        verify_until=None,
        state="active",
    )


class LocalJwksSource:
    """The admin module verifies its own tokens from its key store, not over HTTP to itself.

    ``core_resources`` loads the verifier before the app's session factory exists, so until
    :meth:`bind` is called a short-lived engine of its own is used; that first load also makes
    the first signing key, so tokens minted right after start verify at once."""

    def __init__(self, ring: KeyRing, database_url: str) -> None:
        self.ring = ring
        self.database_url = database_url
        self.sessions: async_sessionmaker[AsyncSession] | None = None

    def bind(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def fetch(self) -> dict[str, Any]:
        if self.sessions is not None:
            async with unit_of_work(self.sessions) as session:
                return await self.ring.jwks(session)
        engine = create_engine(self.database_url, pool_size=1)
        try:
            async with unit_of_work(session_factory(engine)) as session:
                await self.ring.ensure_active(session)
            async with unit_of_work(session_factory(engine)) as session:
                return await self.ring.jwks(session)
        finally:
            await engine.dispose()


async def rotation_loop(sessions: async_sessionmaker[AsyncSession], ring: KeyRing, every: float) -> None:
    while True:
        try:
            async with unit_of_work(sessions) as session:
                await ring.rotate_if_due(session)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("key_rotation_check_failed", extra={"error": repr(exc)})
        await asyncio.sleep(every)
