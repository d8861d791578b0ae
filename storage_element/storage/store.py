"""The storage element's working parts, built once in the lifespan (``app.state.store``).

:meth:`Store.index_change` is step 7 of every change (index row, change-feed entry and
audit event in one Postgres transaction) and :meth:`Store.notify` is step 8.

Group commit: the feed's ``seq`` comes from one locked row per SE, so index transactions
commit one at a time. Changes that arrive while one is committing wait for it and then
share the next transaction (one lock, one commit flush, consecutive ``seq`` numbers),
instead of each holding the lock across its own round trips. Each caller still returns
only after the transaction holding its change has committed. A batch that fails is
retried one change per transaction, so one bad change never fails its neighbours.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import outbox
from shared.db import unit_of_work
from shared.discovery import SE_CHANGES_CHANNEL
from storage_element.index import repository as repo
from storage_element.mode.store import ModeStore
from storage_element.settings import Settings
from storage_element.storage.backends.base import Backend
from storage_element.storage.capacity import Capacity
from storage_element.storage.layout import sidecar_key
from storage_element.storage.sidecar import Sidecar
from storage_element.storage.wal import Wal

log = logging.getLogger("artstore.storage_element")


MAX_BATCH = 256  # changes per index transaction


@dataclass
class _IndexChange:
    op: str
    file_id: str
    sidecar: Sidecar | None
    audit: dict[str, Any] | None
    result: asyncio.Future[tuple[int, str]]


@dataclass
class Store:
    settings: Settings
    backend: Backend
    wal: Wal
    sessions: async_sessionmaker[AsyncSession]
    mode: ModeStore
    capacity: Capacity
    redis: Redis | None = None
    _locks: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    # Uploads committed by their sidecar whose index step failed (Postgres unavailable):
    # finished by the next attempt on the same id, or by recovery at the next start.
    unindexed: dict[str, tuple[Any, Sidecar]] = field(default_factory=dict)
    _index_queue: list[_IndexChange] = field(default_factory=list)
    _index_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def se_id(self) -> str:
        return self.settings.se_id

    @asynccontextmanager
    async def file_lock(self, file_id: str) -> AsyncIterator[None]:
        """One change at a time per file id in this process (the SE owns its root alone)."""
        lock = self._locks[file_id]
        async with lock:
            yield
        if not lock.locked() and not lock._waiters:
            self._locks.pop(file_id, None)

    async def read_sidecar(self, data_key: str) -> Sidecar | None:
        raw = await self.backend.read_small(sidecar_key(data_key))
        return None if raw is None else Sidecar.load(raw)

    async def find(self, file_id: str) -> Sidecar | None:
        async with self.sessions() as session:
            doc = await repo.get_doc(session, file_id)
        return None if doc is None else Sidecar.load(doc)

    async def index_change(
        self, op: str, file_id: str, sidecar: Sidecar | None, *, audit: dict[str, Any] | None = None
    ) -> tuple[int, str]:
        """Upsert or delete the index row with its feed entry (and audit event), committed;
        returns (seq, feed_epoch). Concurrent changes share a transaction (module doc)."""
        change = _IndexChange(op, file_id, sidecar, audit, asyncio.get_running_loop().create_future())
        self._index_queue.append(change)
        async with self._index_lock:
            while not change.result.done():  # a holder before us may have committed it already
                batch = self._index_queue[:MAX_BATCH]
                del self._index_queue[:MAX_BATCH]
                await self._commit_batch(batch)
        return change.result.result()

    async def _commit_batch(self, batch: list[_IndexChange]) -> None:
        try:
            await self._commit_or_isolate(batch)
        except asyncio.CancelledError:
            # Our caller went away mid-transaction (rolled back): the changes not yet
            # committed go back to the head of the queue for the next holder of the lock.
            self._index_queue[:0] = [c for c in batch if not c.result.done()]
            raise

    async def _commit_or_isolate(self, batch: list[_IndexChange]) -> None:
        try:
            seqs, epoch = await self._write_changes(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].result.set_exception(exc)
                return
            for change in batch:  # one change per transaction: only the bad one fails
                await self._commit_or_isolate([change])
            return
        for change, seq in zip(batch, seqs, strict=True):
            change.result.set_result((seq, epoch))
        await self.notify(seqs[-1], batch[-1].op, epoch)

    async def _write_changes(self, batch: list[_IndexChange]) -> tuple[list[int], str]:
        """One transaction for the whole batch, with a fixed number of statements: the
        generation row's lock, the file rows (consecutive upserts in one statement), the
        feed entries in one and their audit events in one."""
        async with unit_of_work(self.sessions) as session:
            gen = await repo.active(session, lock=True)
            if gen is None:
                raise RuntimeError("the index has no active generation")
            upserts: list[Sidecar] = []
            for change in batch:  # in order: a delete never overtakes an earlier upsert
                if change.sidecar is not None:
                    upserts.append(change.sidecar)
                    continue
                await repo.upsert_files(session, gen.generation, upserts)
                upserts = []
                await repo.delete_file(session, gen.generation, change.file_id)
            await repo.upsert_files(session, gen.generation, upserts)
            seqs = await repo.append_changes(
                session,
                gen.generation,
                [
                    {"op": "upsert", "file_id": c.file_id, "doc": c.sidecar.doc()}
                    if c.sidecar is not None
                    else {"op": "delete", "file_id": c.file_id}
                    for c in batch
                ],
            )
            await outbox.record_many(session, [c.audit for c in batch if c.audit is not None], once=True)
        return seqs, gen.feed_epoch

    async def notify(self, seq: int, op: str, feed_epoch: str) -> None:
        """Wake feed consumers early; a lost notification only delays them."""
        if self.redis is None:
            return
        message = json.dumps({"se_id": self.se_id, "seq": seq, "op": op, "feed_epoch": feed_epoch})
        try:
            await self.redis.publish(SE_CHANGES_CHANNEL, message)
        except Exception as exc:  # never fail a committed change because Redis is down
            log.warning("change_notify_failed", extra={"error": repr(exc)})
