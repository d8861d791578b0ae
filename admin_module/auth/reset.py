"""Password reset by mail: a single-use random token (hashed at rest, 15 minutes).

The token lives in Redis when available (``SET ... EX``), else in Postgres. The request always
answers 202 whatever the login names, so the endpoint reveals no accounts; LOCAL users with
an e-mail address get the mail (sent after the commit, in the background).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_module import mail
from admin_module.audit import service as audit
from admin_module.audit.schemas import Actor
from admin_module.auth import repository
from admin_module.auth.errors import InvalidResetToken
from admin_module.auth.tokens import hash_opaque
from admin_module.deps import RequestContext
from admin_module.settings import Settings
from admin_module.users import repository as users
from admin_module.users.passwords import PasswordHasher
from admin_module.users.service import set_password
from shared.db import unit_of_work

log = logging.getLogger("artstore.admin.reset")

REDIS_PREFIX = "artstore:pwreset:"


@dataclass(frozen=True)
class ResetMail:
    to: str
    username: str
    token: str


async def _store(
    session: AsyncSession, redis: Any | None, token_hash: str, user_id: uuid.UUID, ttl: int
) -> None:
    if redis is not None:
        try:
            await redis.set(REDIS_PREFIX + token_hash, str(user_id), ex=ttl)
            return
        except Exception as exc:  # Redis is optional: keep the token in Postgres instead
            log.warning("reset_token_redis_failed", extra={"error": repr(exc)})
    now = datetime.now(UTC)
    await repository.add_reset(
        session,
        token_hash=token_hash,
        user_id=user_id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )


async def request_reset(
    sessions: async_sessionmaker[AsyncSession],
    *,
    redis: Any | None,
    settings: Settings,
    login: str,
    ctx: RequestContext,
) -> ResetMail | None:
    """Store a token for a LOCAL user with an address; the mail to send, or None."""
    async with unit_of_work(sessions) as session:
        user = await users.by_login(session, login)
        if (
            user is None
            or user["source"] != "LOCAL"
            or user["status"] in ("DELETED", "INACTIVE")
            or not user["email"]
        ):
            await audit.record(
                session, action="password.reset_requested", ctx=ctx, outcome="ignored", target=login
            )
            return None
        token = secrets.token_urlsafe(32)
        await _store(session, redis, hash_opaque(token), user["id"], settings.password_reset_lifetime_seconds)
        await audit.record(session, action="password.reset_requested", ctx=ctx, target=user["username"])
    return ResetMail(to=user["email"], username=user["username"], token=token)


async def send_reset_mail(settings: Settings, reset: ResetMail) -> None:
    minutes = settings.password_reset_lifetime_seconds // 60
    link = f"{settings.password_reset_url}?token={reset.token}"
    body = (
        f"Hello {reset.username},\n\n"
        f"someone asked to reset your ArtStore password. To choose a new one, open\n\n{link}\n\n"
        f"or enter this one-time code: {reset.token}\n\n"
        f"It works once and expires in {minutes} minutes. If you did not ask, ignore this mail.\n"
    )
    await mail.send(settings, to=reset.to, subject="ArtStore password reset", body=body)


async def _lookup(session: AsyncSession, redis: Any | None, token_hash: str) -> tuple[uuid.UUID | None, bool]:
    if redis is not None:
        try:
            value = await redis.get(REDIS_PREFIX + token_hash)
        except Exception as exc:
            log.warning("reset_token_redis_failed", extra={"error": repr(exc)})
            value = None
        if value:
            return uuid.UUID(value.decode() if isinstance(value, bytes) else value), True
    return await repository.peek_reset(session, token_hash, datetime.now(UTC)), False


async def _consume(session: AsyncSession, redis: Any | None, token_hash: str, in_redis: bool) -> bool:
    if in_redis:
        return bool(await redis.delete(REDIS_PREFIX + token_hash)) if redis is not None else False
    return await repository.consume_reset(session, token_hash, datetime.now(UTC))


async def confirm_reset(
    session: AsyncSession,
    *,
    redis: Any | None,
    hasher: PasswordHasher,
    settings: Settings,
    token: str,
    new_password: str,
    ctx: RequestContext,
) -> None:
    """Set the new password (under the policy) and end every session of the user. The token is
    consumed only once the new password passed the policy, and only one caller can consume it."""
    token_hash = hash_opaque(token)
    user_id, in_redis = await _lookup(session, redis, token_hash)
    user = None if user_id is None else await users.get(session, user_id, for_update=True)
    if user is None or user["source"] != "LOCAL" or user["status"] in ("DELETED", "INACTIVE"):
        raise InvalidResetToken("the reset token is invalid, expired or already used")
    await set_password(session, hasher=hasher, settings=settings, user=user, password=new_password)
    if not await _consume(session, redis, token_hash, in_redis):
        raise InvalidResetToken("the reset token is invalid, expired or already used")
    now = datetime.now(UTC)
    await repository.revoke_user(session, user["id"], now, "password_reset")
    await users.update(
        session,
        user["id"],
        status="ACTIVE",
        locked_until=None,
        failed_login_count=0,
        failed_window_started_at=None,
        updated_at=now,
    )
    await audit.record(
        session,
        action="password.reset",
        ctx=ctx,
        target=user["username"],
        actor=Actor(id=str(user["id"]), username=user["username"], kind="user"),
    )
