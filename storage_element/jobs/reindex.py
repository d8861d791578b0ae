"""Rebuild the index from the sidecars as a new generation (new ``feed_epoch``), then swap.

Reads go on against the old generation while the new one is built. Changes committed
during the scan land in the old generation's feed; at the swap, under the old generation's
row lock (which every index writer takes), those files are re-read from their sidecars
into the new generation, so nothing committed is missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import unit_of_work
from shared.errors import Conflict
from storage_element.index import repository as repo
from storage_element.index.tables import changes, files, generations
from storage_element.storage.layout import is_sidecar, sidecar_key
from storage_element.storage.sidecar import Sidecar
from storage_element.storage.store import Store

log = logging.getLogger("artstore.storage_element.reindex")
BATCH = 200
REINDEX_LOCK = 0x4152_5453_5249  # "ARTSRI"


async def _load_batch(store: Store, generation: int, batch: list[Sidecar]) -> None:
    async with unit_of_work(store.sessions) as session:
        for sc in batch:
            await repo.upsert_file(session, generation, sc)
            await repo.append_change(session, generation, "upsert", file_id=sc.file_id, doc=sc.doc())


async def _scan(store: Store, generation: int, progress: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    batch: list[Sidecar] = []
    loaded, unreadable = 0, []
    async for key in store.backend.list_keys():
        if not is_sidecar(key):
            continue
        raw = await store.backend.read_small(key)
        try:
            batch.append(Sidecar.load(raw or b""))
        except ValueError as exc:
            unreadable.append({"key": key, "error": str(exc)[:200]})
            continue
        if len(batch) >= BATCH:
            await _load_batch(store, generation, batch)
            loaded += len(batch)
            batch = []
            progress({"files": loaded})
    if batch:
        await _load_batch(store, generation, batch)
        loaded += len(batch)
    return {"files": loaded, "unreadable": unreadable}


async def _catch_up(
    session: AsyncSession, store: Store, old: repo.Generation, start_seq: int, new: int
) -> int:
    rows = (
        await session.execute(
            sa.select(changes.c.file_id, files.c.data_key)
            .select_from(
                changes.outerjoin(
                    files,
                    sa.and_(files.c.generation == changes.c.generation, files.c.file_id == changes.c.file_id),
                )
            )
            .where(
                changes.c.generation == old.generation,
                changes.c.seq > start_seq,
                changes.c.file_id.is_not(None),
            )
            .order_by(changes.c.seq)
        )
    ).all()
    for file_id, data_key in {r.file_id: r.data_key for r in rows}.items():
        key = data_key or await session.scalar(
            sa.select(files.c.data_key).where(files.c.generation == new, files.c.file_id == file_id)
        )
        raw = await store.backend.read_small(sidecar_key(key)) if key else None
        if raw is None:
            await repo.delete_file(session, new, file_id)
            await repo.append_change(session, new, "delete", file_id=file_id)
        else:
            sc = Sidecar.load(raw)
            await repo.upsert_file(session, new, sc)
            await repo.append_change(session, new, "upsert", file_id=file_id, doc=sc.doc())
    return len(rows)


async def reindex(
    store: Store, progress: Callable[[dict[str, Any]], None] = lambda _: None
) -> dict[str, Any]:
    """One rebuild at a time per index database (server or CLI): a Postgres advisory lock."""
    async with store.sessions() as lock_session:
        if not await lock_session.scalar(sa.select(sa.func.pg_try_advisory_lock(REINDEX_LOCK))):
            raise Conflict("a reindex of this storage element is already running")
        try:
            return await _reindex(store, progress)
        finally:
            await lock_session.scalar(sa.select(sa.func.pg_advisory_unlock(REINDEX_LOCK)))
            await lock_session.commit()


async def _reindex(
    store: Store, progress: Callable[[dict[str, Any]], None] = lambda _: None
) -> dict[str, Any]:
    async with unit_of_work(store.sessions) as session:
        old = await repo.active(session)
        new = await repo.create_generation(session, active_now=False)
        await repo.append_change(session, new.generation, "mode", mode=store.mode.current)
    start_seq = old.last_seq if old else 0
    report = await _scan(store, new.generation, progress)
    async with unit_of_work(store.sessions) as session:
        locked = await repo.active(session, lock=True)
        caught_up = 0
        if locked is not None:
            caught_up = await _catch_up(session, store, locked, start_seq, new.generation)
            await session.execute(
                sa.update(generations)
                .where(generations.c.generation == locked.generation)
                .values(active=False)
            )
        await session.execute(
            sa.update(generations).where(generations.c.generation == new.generation).values(active=True)
        )
        for table in (files, changes):
            await session.execute(sa.delete(table).where(table.c.generation != new.generation))
        await session.execute(sa.delete(generations).where(generations.c.generation != new.generation))
        _count, used = await repo.totals(session)
    store.capacity.used = used
    report.update(feed_epoch=new.feed_epoch, generation=new.generation, caught_up=caught_up)
    log.info("reindex_done", extra=report)
    return report
