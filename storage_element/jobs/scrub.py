"""Scrub: re-hash every stored file at a bounded rate (MiB/s), record ``last_verified_at``,
quarantine corrupt or missing copies and report them."""

from __future__ import annotations

import hmac
import time
from typing import Any

import anyio
import sqlalchemy as sa

from storage_element.index import repository as repo
from storage_element.index.tables import files, generations
from storage_element.jobs.registry import Progress
from storage_element.storage import mutate
from storage_element.storage.sidecar import utcnow
from storage_element.storage.store import Store


class Throttle:
    def __init__(self, mib_per_second: float) -> None:
        self.rate = mib_per_second * 1024 * 1024
        self.start = time.monotonic()
        self.done = 0

    async def account(self, nbytes: int) -> None:
        self.done += nbytes
        if self.rate <= 0:
            return
        ahead = self.done / self.rate - (time.monotonic() - self.start)
        if ahead > 0:
            await anyio.sleep(ahead)


async def _ids(store: Store, after: str, limit: int) -> list[str]:
    gen = sa.select(generations.c.generation).where(generations.c.active).scalar_subquery()
    async with store.sessions() as session:
        rows = await session.scalars(
            sa.select(files.c.file_id)
            .where(files.c.generation == gen, files.c.file_id > after, files.c.copy_state != "corrupt")
            .order_by(files.c.file_id)
            .limit(limit)
        )
        return list(rows)


async def _check(store: Store, file_id: str, throttle: Throttle) -> dict[str, Any] | None:
    async with store.file_lock(file_id):
        sidecar = await store.find(file_id)
        if sidecar is None or sidecar.copy_state == "corrupt":
            return None
        observed = await mutate.rehash(store, sidecar, throttle.account)  # original bytes
        if observed is not None and hmac.compare_digest(observed, sidecar.sha256):
            async with store.sessions.begin() as session:
                await repo.mark_verified(session, file_id, utcnow())
            return None
        await mutate.quarantine(store, sidecar, observed, actor=None)
        return {"file_id": file_id, "expected_sha256": sidecar.sha256, "observed_sha256": observed}


async def scrub(
    store: Store, progress: Progress = lambda _: None, *, mib_per_second: float | None = None
) -> dict[str, Any]:
    if store.mode.current == "ar":
        return {"checked": 0, "bytes": 0, "corrupt": [], "skipped": "archived: the bytes are offline"}
    throttle = Throttle(store.settings.scrub_mib_per_second if mib_per_second is None else mib_per_second)
    checked, corrupt, after = 0, [], ""
    while ids := await _ids(store, after, 100):
        for file_id in ids:
            bad = await _check(store, file_id, throttle)
            checked += 1
            if bad:
                corrupt.append(bad)
            progress({"checked": checked, "corrupt": len(corrupt), "bytes": throttle.done})
        after = ids[-1]
    return {"checked": checked, "bytes": throttle.done, "corrupt": corrupt}


__all__ = ["scrub"]
