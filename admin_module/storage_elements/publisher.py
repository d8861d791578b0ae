"""Publishing the registry snapshot to Redis, and the health poller that feeds it.

The snapshot is written to ``artstore:discovery:storage-elements`` and announced on
``artstore:discovery:changes`` after every change and every ``republish_interval``
seconds. A change asks for "at least version V": the publisher reads committed data, so
it waits (briefly) until the transaction that made V is visible. Several replicas publish;
Redis keeps the newest snapshot (:func:`write_snapshot`). Without Redis it does nothing;
services then read ``GET /internal/v1/storage-elements``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_module.storage_elements import repository, service
from admin_module.storage_elements.client import StorageElementClient
from admin_module.storage_elements.leadership import Leadership
from shared.db import unit_of_work
from shared.discovery import SNAPSHOT_CHANNEL, SNAPSHOT_KEY

log = logging.getLogger("artstore.registry")

# KEYS[1] the snapshot key; ARGV: version, snapshot JSON, announcement channel. Written and
# announced only if no newer version is stored: a slow replica never puts an older registry
# back (the same version again is a periodic republication).
_WRITE_IF_NOT_OLDER = """
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, snap = pcall(cjson.decode, stored)
  local version = ok and type(snap) == 'table' and tonumber(snap['version'] or '')
  if version and version > tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1
"""


async def write_snapshot(redis: Any, snap: dict[str, Any]) -> bool:
    """Store and announce ``snap`` unless Redis holds a newer one; True when written."""
    script = redis.register_script(_WRITE_IF_NOT_OLDER)
    version = int(snap["version"])
    written = await script(
        keys=[SNAPSHOT_KEY], args=[version, json.dumps(snap, default=str), SNAPSHOT_CHANNEL]
    )
    return bool(written)


class Publisher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Any | None,
        *,
        republish_interval: float = 10.0,
    ) -> None:
        self.sessions = sessions
        self.redis = redis
        self.republish_interval = republish_interval
        self.wanted = 0
        self.published = -1
        self._wake = asyncio.Event()

    def request(self, version: int | None) -> None:
        if version is not None:
            self.wanted = max(self.wanted, version)
            self._wake.set()

    async def publish_once(self) -> int:
        async with unit_of_work(self.sessions) as session:
            snap = await service.snapshot(session)
        if self.redis is not None:
            await write_snapshot(self.redis, snap)
        self.published = int(snap["version"])
        return self.published

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.republish_interval):
                    await self._wake.wait()
            self._wake.clear()
            for _ in range(100):  # the requesting transaction commits within moments
                try:
                    version = await self.publish_once()
                except Exception as exc:
                    log.warning("snapshot_publish_failed", extra={"error": repr(exc)})
                    break
                if version >= self.wanted:
                    break
                await asyncio.sleep(0.05)


class HealthPoller:
    """Polls every SE each ``interval`` seconds, in the one admin replica that leads.

    The leader (a session-level advisory lock, :mod:`.leadership`) polls; the other
    replicas stand by and try for the lock each interval, so the SEs see one poll per
    interval however many replicas run. A poll reads the registry, probes the SEs with no
    transaction open, then records what it saw in a second, short transaction.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: StorageElementClient,
        publisher: Publisher,
        leadership: Leadership,
        *,
        interval: float = 10.0,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.publisher = publisher
        self.leadership = leadership
        self.interval = interval

    async def poll(self, se_id: str | None = None) -> int | None:
        """Poll every SE (or one); returns the new registry version when anything changed."""
        async with unit_of_work(self.sessions) as session:
            rows = await repository.list_all(session)
        rows = [row for row in rows if se_id is None or row["id"] == se_id]
        probes = await service.probe_all(self.client, rows)
        async with unit_of_work(self.sessions) as session:
            version = await service.record_probes(session, rows, probes)
        self.publisher.request(version)
        return version

    async def poll_one(self, se_id: str) -> int | None:
        """Poll one SE now (it announced a mode change), beside the periodic poll; only the
        leader does, so one announcement costs the SE one probe, not one per replica."""
        return await self.poll(se_id) if self.leadership.held else None

    async def run(self) -> None:
        while True:
            try:
                if await self.leadership.ensure():
                    await self.poll()
            except Exception as exc:
                log.warning("health_poll_failed", extra={"error": repr(exc)})
            await asyncio.sleep(self.interval)
