"""SQL of the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.models import audit_chain_head, audit_events

CHAIN_LOCK = 0x4152_5441_5544  # "ARTAUD": appends are serialised so the chain stays linear


async def lock_chain(session: AsyncSession) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK)))


async def tail(session: AsyncSession) -> tuple[int, str | None]:
    row = (
        await session.execute(
            sa.select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
        )
    ).first()
    return (0, None) if row is None else (int(row.seq), str(row.hash))


async def head(session: AsyncSession) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(audit_chain_head))).mappings().first()
    return dict(row) if row else None


async def set_head(session: AsyncSession, *, seq: int, hash_: str, mac: str, now: datetime) -> None:
    values = {"id": 1, "seq": seq, "hash": hash_, "mac": mac, "updated_at": now}
    statement = pg_insert(audit_chain_head).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={k: statement.excluded[k] for k in values}
        )
    )


async def existing_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    rows = await session.scalars(sa.select(audit_events.c.id).where(audit_events.c.id.in_(ids)))
    return set(rows)


async def insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(sa.insert(audit_events), rows)


async def page_ascending(session: AsyncSession, after_seq: int | None, limit: int) -> list[dict[str, Any]]:
    """Rows in chain order; ``after_seq=None`` starts at the lowest seq, whatever it is (a row
    slipped in at seq 0 or below must be read too)."""
    query = sa.select(audit_events).order_by(audit_events.c.seq).limit(limit)
    if after_seq is not None:
        query = query.where(audit_events.c.seq > after_seq)
    result = await session.execute(query)
    return [dict(r) for r in result.mappings()]


async def search(
    session: AsyncSession,
    *,
    actor: str | None,
    action: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
    before_seq: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = sa.select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
    if actor:
        query = query.where(sa.or_(audit_events.c.actor_username == actor, audit_events.c.actor_id == actor))
    if action:
        query = query.where(audit_events.c.action == action)
    if outcome:
        query = query.where(audit_events.c.outcome == outcome)
    if since:
        query = query.where(audit_events.c.occurred_at >= since)
    if until:
        query = query.where(audit_events.c.occurred_at < until)
    if before_seq is not None:
        query = query.where(audit_events.c.seq < before_seq)
    return [dict(r) for r in (await session.execute(query)).mappings()]
