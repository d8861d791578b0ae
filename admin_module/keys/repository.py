"""SQL of the signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.models import signing_keys

KEYS_LOCK = 0x4152_544B_4559  # "ARTKEY": one replica creates or rotates keys at a time


async def lock(session: AsyncSession) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(KEYS_LOCK)))


async def try_lock(session: AsyncSession) -> bool:
    return bool(await session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(KEYS_LOCK))))


async def active(session: AsyncSession) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(signing_keys).where(signing_keys.c.retired_at.is_(None)))).first()
    return None if row is None else dict(row._mapping)


async def by_kid(session: AsyncSession, kid: str) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(signing_keys).where(signing_keys.c.kid == kid))).first()
    return None if row is None else dict(row._mapping)


async def verifying(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Keys that may still verify a live token: the active one and those retiring."""
    query = (
        sa.select(signing_keys)
        .where(sa.or_(signing_keys.c.verify_until.is_(None), signing_keys.c.verify_until > now))
        .order_by(signing_keys.c.created_at.desc())
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def all_keys(session: AsyncSession) -> list[dict[str, Any]]:
    query = sa.select(signing_keys).order_by(signing_keys.c.created_at.desc())
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def insert(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(signing_keys).values(**values))


async def retire(session: AsyncSession, kid: str, *, at: datetime, verify_until: datetime) -> None:
    await session.execute(
        sa.update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(retired_at=at, verify_until=verify_until)
    )
