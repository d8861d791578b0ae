"""The retention runner of an ``edit`` SE: expired temporary files are deleted through the
normal delete path (WAL, sidecar, index, feed, audit). One runner at a time per index
database: a Postgres advisory lock held for the pass."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa

from storage_element.errors import FileNotFound
from storage_element.index import repository as repo
from storage_element.storage import mutate
from storage_element.storage.sidecar import utcnow
from storage_element.storage.store import Store

log = logging.getLogger("artstore.storage_element.retention")
RETENTION_LOCK = 0x4152_5453_5245  # "ARTSRE"


async def expire_once(store: Store, *, batch: int = 100) -> dict[str, Any]:
    if store.mode.current != "edit":
        return {"deleted": [], "skipped": "mode is not edit"}
    deleted: list[str] = []
    async with store.sessions() as lock_session:
        if not await lock_session.scalar(sa.select(sa.func.pg_try_advisory_lock(RETENTION_LOCK))):
            return {"deleted": [], "skipped": "another runner holds the lock"}
        try:
            while True:
                async with store.sessions() as session:
                    ids = await repo.expired_temporary(session, utcnow(), batch)
                ids = [i for i in ids if i not in deleted]
                if not ids:
                    break
                for file_id in ids:
                    try:
                        await mutate.delete(store, file_id, actor=None, action="file.expire")
                    except FileNotFound:
                        continue
                    deleted.append(file_id)
        finally:
            await lock_session.scalar(sa.select(sa.func.pg_advisory_unlock(RETENTION_LOCK)))
            await lock_session.commit()
    if deleted:
        log.info("retention_expired", extra={"count": len(deleted)})
    return {"deleted": deleted}


async def run_forever(store: Store) -> None:
    """A pass every ``retention_interval_seconds``, the first one an interval after start."""
    while True:
        await asyncio.sleep(store.settings.retention_interval_seconds)
        try:
            await expire_once(store)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed pass is retried at the next interval
            log.warning("retention_pass_failed", extra={"error": repr(exc)})
