"""SQL of the saga log. Every function takes the caller's session; the caller commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ingester_module.models import sagas

OPEN_STATES = ("pending", "running")


def now() -> datetime:
    return datetime.now(UTC)


async def create(
    session: AsyncSession,
    *,
    kind: str,
    file_id: str,
    actor: dict[str, Any],
    params: dict[str, Any],
    data: dict[str, Any],
    batch_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Insert a pending saga; None when another unfinished saga holds the file."""
    saga_id = uuid.uuid4()
    at = now()
    try:
        async with session.begin_nested():
            await session.execute(
                sa.insert(sagas).values(
                    id=saga_id,
                    kind=kind,
                    state="pending",
                    file_id=file_id,
                    batch_id=batch_id,
                    actor=actor,
                    params=params,
                    data=data,
                    steps=[],
                    next_attempt_at=at,
                    created_at=at,
                    updated_at=at,
                )
            )
    except IntegrityError:
        return None
    return saga_id


async def get(session: AsyncSession, saga_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(sagas).where(sagas.c.id == saga_id))).mappings().first()
    return dict(row) if row else None


async def claim(session: AsyncSession, owner: str, lease: float) -> dict[str, Any] | None:
    """Take one due saga whose lease is free; safe with any number of workers and replicas."""
    at = now()
    row = (
        (
            await session.execute(
                sa.select(sagas)
                .where(
                    sagas.c.state.in_(OPEN_STATES),
                    sagas.c.next_attempt_at <= at,
                    sa.or_(sagas.c.lease_until.is_(None), sagas.c.lease_until < at),
                )
                .order_by(sagas.c.next_attempt_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    await session.execute(
        sa.update(sagas)
        .where(sagas.c.id == row["id"])
        .values(state="running", lease_owner=owner, lease_until=at + timedelta(seconds=lease), updated_at=at)
    )
    return {**dict(row), "state": "running", "lease_owner": owner}


async def renew(session: AsyncSession, saga_id: uuid.UUID, owner: str, lease: float, *, wait: float) -> bool:
    """Extend the lease; waits at most ``wait`` seconds for the row (else a database error)."""
    await session.execute(sa.select(sa.func.set_config("lock_timeout", f"{int(wait * 1000)}ms", True)))
    result = await session.execute(
        sa.update(sagas)
        .where(sagas.c.id == saga_id, sagas.c.lease_owner == owner)
        .values(lease_until=now() + timedelta(seconds=lease))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def save(session: AsyncSession, saga_id: uuid.UUID, owner: str, **values: Any) -> bool:
    """Persist progress, only while this worker still holds the lease."""
    values["updated_at"] = now()
    result = await session.execute(
        sa.update(sagas).where(sagas.c.id == saga_id, sagas.c.lease_owner == owner).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def by_batch(session: AsyncSession, batch_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(sa.select(sagas).where(sagas.c.batch_id == batch_id))
    return [dict(r) for r in rows.mappings()]
