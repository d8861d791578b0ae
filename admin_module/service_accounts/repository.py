"""SQL of service accounts."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.models import service_accounts

FLEET_LOCK = 0x4152_5446_4C54  # "ARTFLT": replicas seeding the fleet accounts take turns


async def get(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any] | None:
    row = (
        await session.execute(sa.select(service_accounts).where(service_accounts.c.id == account_id))
    ).first()
    return None if row is None else dict(row._mapping)


async def by_client_id(session: AsyncSession, client_id: str) -> dict[str, Any] | None:
    query = sa.select(service_accounts).where(service_accounts.c.client_id == client_id)
    row = (await session.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def insert(session: AsyncSession, **values: Any) -> None:
    await session.execute(sa.insert(service_accounts).values(**values))


async def update(session: AsyncSession, account_id: uuid.UUID, **values: Any) -> None:
    await session.execute(
        sa.update(service_accounts).where(service_accounts.c.id == account_id).values(**values)
    )


async def search(
    session: AsyncSession, *, status: str | None, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], int]:
    conditions: list[Any] = []
    if status:
        conditions.append(service_accounts.c.status == status)
    total = await session.scalar(sa.select(sa.func.count()).select_from(service_accounts).where(*conditions))
    query = sa.select(service_accounts).where(*conditions).order_by(service_accounts.c.client_id).limit(limit)
    if after:
        query = query.where(service_accounts.c.client_id > after)
    return [dict(r) for r in (await session.execute(query)).mappings()], int(total or 0)


async def lock_fleet(session: AsyncSession) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(FLEET_LOCK)))
