"""SQL of the dashboard figures (``GET /api/v1/stats``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from query_module.models import catalog_copies, catalog_files

f = catalog_files.c
c = catalog_copies.c


async def totals(session: AsyncSession) -> dict[str, int]:
    row = (await session.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(f.size), 0)))).one()
    return {"files": int(row[0]), "bytes": int(row[1])}


async def per_storage_element(session: AsyncSession) -> list[dict[str, Any]]:
    stmt = (
        sa.select(c.se_id, c.se_mode, sa.func.count(), sa.func.coalesce(sa.func.sum(f.size), 0))
        .select_from(catalog_copies.join(catalog_files, f.file_id == c.file_id))
        .group_by(c.se_id, c.se_mode)
        .order_by(c.se_id)
    )
    rows = (await session.execute(stmt)).all()
    return [{"storage_element_id": r[0], "mode": r[1], "files": int(r[2]), "bytes": int(r[3])} for r in rows]


async def per_mode(session: AsyncSession) -> list[dict[str, Any]]:
    stmt = (
        sa.select(c.se_mode, sa.func.count(), sa.func.coalesce(sa.func.sum(f.size), 0))
        .select_from(catalog_copies.join(catalog_files, f.file_id == c.file_id))
        .group_by(c.se_mode)
        .order_by(c.se_mode)
    )
    return [
        {"mode": r[0], "files": int(r[1]), "bytes": int(r[2])} for r in (await session.execute(stmt)).all()
    ]


async def per_retention(session: AsyncSession) -> list[dict[str, Any]]:
    stmt = (
        sa.select(f.retention_policy, sa.func.count(), sa.func.coalesce(sa.func.sum(f.size), 0))
        .group_by(f.retention_policy)
        .order_by(f.retention_policy)
    )
    rows = (await session.execute(stmt)).all()
    return [{"retention_policy": r[0], "files": int(r[1]), "bytes": int(r[2])} for r in rows]


async def uploads_per_day(session: AsyncSession, days: int = 30) -> list[dict[str, Any]]:
    today = datetime.now(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    day = sa.func.date(sa.func.timezone("UTC", f.created_at))
    stmt = (
        sa.select(day, sa.func.count(), sa.func.coalesce(sa.func.sum(f.size), 0))
        .where(f.created_at >= since)
        .group_by(day)
    )
    counts = {r[0]: (int(r[1]), int(r[2])) for r in (await session.execute(stmt)).all()}
    out = []
    for offset in range(days - 1, -1, -1):
        d = today - timedelta(days=offset)
        files, size = counts.get(d, (0, 0))
        out.append({"date": d.isoformat(), "files": files, "bytes": size})
    return out


async def latest(session: AsyncSession, limit: int = 20) -> list[dict[str, Any]]:
    stmt = sa.select(f.record).order_by(f.created_at.desc(), f.file_id.desc()).limit(limit)
    return [dict(r) for r in (await session.execute(stmt)).scalars()]
