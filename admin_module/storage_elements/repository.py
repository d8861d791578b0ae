"""SQL of the registry and fleet view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.storage_elements.tables import registry_version, service_instances, storage_elements

POLL_LOCK = 0x4152_5453_504F  # "ARTSPO": the health poller's leadership across admin replicas


async def bump_version(session: AsyncSession) -> int:
    stmt = (
        insert(registry_version)
        .values(id=1, version=1)
        .on_conflict_do_update(index_elements=["id"], set_={"version": registry_version.c.version + 1})
        .returning(registry_version.c.version)
    )
    return int((await session.execute(stmt)).scalar_one())


async def current_version(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(registry_version.c.version)) or 0)


async def list_all(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(storage_elements).order_by(storage_elements.c.priority, storage_elements.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def get(session: AsyncSession, se_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = sa.select(storage_elements).where(storage_elements.c.id == se_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def get_by_url(session: AsyncSession, url: str) -> dict[str, Any] | None:
    row = (await session.execute(sa.select(storage_elements).where(storage_elements.c.url == url))).first()
    return dict(row._mapping) if row else None


async def upsert(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = insert(storage_elements).values(**values)
    keep = {"registered_at", "id", "priority_overridden", "name_overridden"}
    update: dict[str, Any] = {k: stmt.excluded[k] for k in values if k not in keep}
    # An operator's priority or name wins over what the SE reports about itself.
    update["priority"] = sa.case(
        (storage_elements.c.priority_overridden, storage_elements.c.priority), else_=stmt.excluded.priority
    )
    update["name"] = sa.case(
        (storage_elements.c.name_overridden, storage_elements.c.name), else_=stmt.excluded.name
    )
    await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=update))


async def update(session: AsyncSession, se_id: str, values: dict[str, Any]) -> None:
    await session.execute(sa.update(storage_elements).where(storage_elements.c.id == se_id).values(**values))


async def delete(session: AsyncSession, se_id: str) -> None:
    await session.execute(sa.delete(storage_elements).where(storage_elements.c.id == se_id))


async def update_if_unchanged(
    session: AsyncSession, se_id: str, updated_at: datetime, values: dict[str, Any]
) -> bool:
    """Update the row only while its ``updated_at`` is still the one read; False otherwise."""
    result = await session.execute(
        sa.update(storage_elements)
        .where(storage_elements.c.id == se_id, storage_elements.c.updated_at == updated_at)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def record_heartbeat(session: AsyncSession, values: dict[str, Any], now: datetime) -> None:
    stmt = insert(service_instances).values(**values, first_seen_at=now, last_seen_at=now)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["instance_id"],
            set_={k: stmt.excluded[k] for k in ("kind", "url", "version", "started_at", "last_seen_at")},
        )
    )


async def list_instances(session: AsyncSession, seen_after: datetime) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(service_instances)
        .where(service_instances.c.last_seen_at >= seen_after)
        .order_by(service_instances.c.kind, service_instances.c.instance_id)
    )
    return [dict(r._mapping) for r in rows]
