"""SQL of the directory integration: directory users, the sync lock and the last sync run.

Sync runs are not kept in a table of their own: each run writes one ``ldap.sync`` event to
the audit log (hash-chained, shared by every replica), and the status reads the latest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.models import audit_events, users

SYNC_LOCK = 0x4152_544C_4441  # "ARTLDA": one directory sync at a time across replicas
SYNC_ACTION = "ldap.sync"


async def try_lock_sync(session: AsyncSession) -> bool:
    """Take the sync lock for this transaction, or return False when another replica holds it."""
    return bool(await session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(SYNC_LOCK))))


async def lock_sync(session: AsyncSession) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(SYNC_LOCK)))


async def users_for_sync(session: AsyncSession, usernames: Iterable[str]) -> list[dict[str, Any]]:
    """Every LDAP user, plus any user (LOCAL too) holding one of ``usernames``; locked for update."""
    names = sorted({name.lower() for name in usernames})
    query = (
        sa.select(users)
        .where(sa.or_(users.c.source == "LDAP", sa.func.lower(users.c.username).in_(names)))
        .order_by(users.c.username)
        .with_for_update()
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def insert_if_absent(session: AsyncSession, **values: Any) -> bool:
    """Insert a user unless the (case-insensitive) username exists; True when inserted."""
    result = await session.execute(pg_insert(users).values(**values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0))


async def last_sync(session: AsyncSession, *, successful: bool = False) -> dict[str, Any] | None:
    query = sa.select(audit_events).where(audit_events.c.action == SYNC_ACTION)
    if successful:
        query = query.where(audit_events.c.outcome == "success")
    row = (await session.execute(query.order_by(audit_events.c.seq.desc()).limit(1))).mappings().first()
    return None if row is None else dict(row)
