"""SQL of users and their password history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.models import password_history, users

ADMINS_LOCK = 0x4152_5441_444D  # "ARTADM": serialises changes that could remove the last ADMIN


async def get(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> dict[str, Any] | None:
    query = sa.select(users).where(users.c.id == user_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def by_username(
    session: AsyncSession, username: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    query = sa.select(users).where(sa.func.lower(users.c.username) == username.lower())
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def by_login(session: AsyncSession, login: str) -> dict[str, Any] | None:
    """A user by username, else by e-mail (when exactly one user has it)."""
    found = await by_username(session, login)
    if found is not None:
        return found
    rows = (
        (
            await session.execute(
                sa.select(users).where(sa.func.lower(users.c.email) == login.lower()).limit(2)
            )
        )
        .mappings()
        .all()
    )
    return dict(rows[0]) if len(rows) == 1 else None


async def insert(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(users).values(**values))


async def update(session: AsyncSession, user_id: uuid.UUID, **values: Any) -> None:
    await session.execute(sa.update(users).where(users.c.id == user_id).values(**values))


async def search(
    session: AsyncSession,
    *,
    role: str | None,
    status: str | None,
    source: str | None,
    q: str | None,
    after: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    conditions: list[Any] = []
    if role:
        conditions.append(users.c.role == role)
    if status:
        conditions.append(users.c.status == status)
    if source:
        conditions.append(users.c.source == source)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            sa.or_(
                users.c.username.ilike(pattern),
                users.c.email.ilike(pattern),
                users.c.full_name.ilike(pattern),
            )
        )
    total = await session.scalar(sa.select(sa.func.count()).select_from(users).where(*conditions))
    query = sa.select(users).where(*conditions).order_by(sa.func.lower(users.c.username)).limit(limit)
    if after:
        query = query.where(sa.func.lower(users.c.username) > after)
    rows = [dict(r) for r in (await session.execute(query)).mappings()]
    return rows, int(total or 0)


async def lock_admins(session: AsyncSession) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(ADMINS_LOCK)))


async def count_active_admins(session: AsyncSession, *, excluding: uuid.UUID | None = None) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.role == "ADMIN", users.c.status == "ACTIVE")
    )
    if excluding is not None:
        query = query.where(users.c.id != excluding)
    return int(await session.scalar(query) or 0)


async def any_admin(session: AsyncSession) -> bool:
    query = (
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.role == "ADMIN", users.c.status != "DELETED")
    )
    return bool(await session.scalar(query))


async def recent_hashes(session: AsyncSession, user_id: uuid.UUID, limit: int) -> list[str]:
    query = (
        sa.select(password_history.c.password_hash)
        .where(password_history.c.user_id == user_id)
        .order_by(password_history.c.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def add_history(session: AsyncSession, user_id: uuid.UUID, password_hash: str, at: datetime) -> None:
    await session.execute(
        sa.insert(password_history).values(user_id=user_id, password_hash=password_hash, created_at=at)
    )
