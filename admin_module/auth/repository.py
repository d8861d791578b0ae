"""SQL of refresh tokens, Postgres rate-limit counters and Postgres password-reset tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.models import password_reset_tokens, rate_limit_counters, refresh_tokens


async def add_refresh(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(refresh_tokens).values(**values))


async def refresh_by_hash(session: AsyncSession, token_hash: str) -> dict[str, Any] | None:
    query = sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def mark_used(session: AsyncSession, token_id: uuid.UUID, at: datetime) -> None:
    await session.execute(sa.update(refresh_tokens).where(refresh_tokens.c.id == token_id).values(used_at=at))


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, at: datetime, reason: str) -> int:
    result = await session.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def revoke_user(session: AsyncSession, user_id: uuid.UUID, at: datetime, reason: str) -> int:
    result = await session.execute(
        sa.update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def count_hit(
    session: AsyncSession, key: str, window: timedelta, now: datetime
) -> tuple[int, datetime]:
    """A fixed-window counter: +1 and the window's end; a stale window restarts at 1."""
    expired = rate_limit_counters.c.expires_at <= now
    insert = pg_insert(rate_limit_counters).values(key=key, count=1, expires_at=now + window)
    stmt = insert.on_conflict_do_update(
        index_elements=[rate_limit_counters.c.key],
        set_={
            "count": sa.case((expired, 1), else_=rate_limit_counters.c.count + 1),
            "expires_at": sa.case((expired, now + window), else_=rate_limit_counters.c.expires_at),
        },
    ).returning(rate_limit_counters.c.count, rate_limit_counters.c.expires_at)
    row = (await session.execute(stmt)).one()._mapping
    return int(row["count"]), row["expires_at"]


async def add_reset(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(password_reset_tokens).values(**values))


async def peek_reset(session: AsyncSession, token_hash: str, now: datetime) -> uuid.UUID | None:
    query = sa.select(password_reset_tokens.c.user_id).where(
        password_reset_tokens.c.token_hash == token_hash,
        password_reset_tokens.c.used_at.is_(None),
        password_reset_tokens.c.expires_at > now,
    )
    found: uuid.UUID | None = await session.scalar(query)
    return found


async def consume_reset(session: AsyncSession, token_hash: str, now: datetime) -> bool:
    result = await session.execute(
        sa.update(password_reset_tokens)
        .where(
            password_reset_tokens.c.token_hash == token_hash,
            password_reset_tokens.c.used_at.is_(None),
            password_reset_tokens.c.expires_at > now,
        )
        .values(used_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
