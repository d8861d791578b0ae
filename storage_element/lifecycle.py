"""Building the store and bringing it to a serving state (used by the app and the CLI).

Start-up order: backend, WAL, mode; then an index generation (rebuilt from the sidecars
when the index is empty); then WAL recovery; only then does the SE serve.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import unit_of_work
from storage_element.index import repository as repo
from storage_element.jobs.reindex import reindex
from storage_element.mode.store import ModeStore
from storage_element.settings import Settings
from storage_element.storage.backends.base import Backend
from storage_element.storage.backends.local import LocalBackend
from storage_element.storage.backends.s3 import S3Backend
from storage_element.storage.capacity import Capacity
from storage_element.storage.recovery import recover
from storage_element.storage.store import Store
from storage_element.storage.wal import Wal


async def make_backend(settings: Settings) -> Backend:
    if settings.backend == "s3":
        s3 = S3Backend(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key.get_secret_value(),
            settings.s3_bucket,
            secure=settings.s3_secure,
            prefix=settings.s3_prefix,
        )
        await s3.ensure_bucket()
        return s3
    return await anyio.to_thread.run_sync(
        lambda: LocalBackend(
            settings.root,
            fsync=settings.fsync,
            keep_cache_bytes=settings.keep_cache_bytes,
            sync_every_bytes=settings.sync_every_bytes,
        )
    )


async def build_store(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis | None,
    backend: Backend | None = None,
) -> Store:
    backend = backend or await make_backend(settings)
    wal = await anyio.to_thread.run_sync(lambda: Wal(settings.state_dir, fsync=settings.fsync))
    mode = await anyio.to_thread.run_sync(
        lambda: ModeStore(settings.state_dir, settings.initial_mode, fsync=settings.fsync)
    )
    return Store(
        settings=settings,
        backend=backend,
        wal=wal,
        sessions=sessions,
        mode=mode,
        capacity=Capacity(
            backend,
            quota=settings.quota_bytes,
            warning=settings.capacity_warning_ratio,
            critical=settings.capacity_critical_ratio,
        ),
        redis=redis,
    )


async def prepare(store: Store) -> dict[str, Any]:
    """Index generation, WAL recovery, capacity: everything before the first request."""
    async with unit_of_work(store.sessions) as session:
        gen = await repo.active(session)
    report: dict[str, Any] = {}
    if gen is None:
        report["reindex"] = await reindex(store)
    report["recovery"] = await recover(store)
    report["mode_announced"] = await announce_mode(store)
    async with store.sessions() as session:
        _count, store.capacity.used = await repo.totals(session)
    return report


async def announce_mode(store: Store) -> bool:
    """Make the feed's last ``mode`` entry match the persisted mode (a crash between the two
    writes of a transition, or a first start); True when an entry was added."""
    async with unit_of_work(store.sessions) as session:
        gen = await repo.active(session, lock=True)
        if gen is None:
            raise RuntimeError("the index has no active generation")
        last = await repo.last_mode(session, gen.generation)
        if last == store.mode.current:
            return False
        await repo.append_change(session, gen.generation, "mode", mode=store.mode.current)
    return True
