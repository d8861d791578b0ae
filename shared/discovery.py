"""Finding the storage elements (ARCHITECTURE.md section 5).

The admin module publishes a versioned snapshot of the SE registry to Redis (key
``artstore:discovery:storage-elements``, announced on channel
``artstore:discovery:changes``) and serves the same snapshot at
``GET /internal/v1/storage-elements``. Consumers (ingester, query) ask a discovery object
two questions: "writable SEs of mode M, by priority" and "SE by id".

:class:`StaticDiscovery` answers them from a fixed list (tests, single-node setups);
the Redis-backed client with the admin fallback lives beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("artstore.discovery")

SNAPSHOT_KEY = "artstore:discovery:storage-elements"
SNAPSHOT_CHANNEL = "artstore:discovery:changes"
# Storage elements announce committed changes here: {"se_id", "seq", "op", "feed_epoch"}.
SE_CHANGES_CHANNEL = "artstore:se-changes"

WRITABLE_MODES = {"edit", "rw"}


@dataclass(frozen=True)
class StorageElementInfo:
    id: str
    name: str
    url: str
    mode: str
    status: str = "online"  # online | degraded | offline
    priority: int = 100
    capacity_total: int = 0
    capacity_free: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StorageElementInfo:
        capacity = raw.get("capacity") or {}
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name") or raw["id"]),
            url=str(raw["url"]).rstrip("/"),
            mode=str(raw.get("mode", "rw")),
            status=str(raw.get("status", "online")),
            priority=int(raw.get("priority", 100)),
            capacity_total=int(capacity.get("total", 0) or 0),
            capacity_free=int(capacity.get("free", 0) or 0),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "mode": self.mode,
            "status": self.status,
            "priority": self.priority,
            "capacity": {"total": self.capacity_total, "free": self.capacity_free},
        }


class Discovery(Protocol):
    def all(self) -> list[StorageElementInfo]: ...

    def get(self, se_id: str) -> StorageElementInfo | None: ...

    def writable(self, mode: str, min_free: int = 0) -> list[StorageElementInfo]: ...


WRITABLE_STATUSES = frozenset({"online", "degraded"})


def select_writable(
    ses: Iterable[StorageElementInfo], mode: str, min_free: int = 0
) -> list[StorageElementInfo]:
    """Reachable SEs of ``mode`` with room for ``min_free`` bytes, lowest priority number first.

    ``degraded`` counts as reachable: it means an optional dependency of the SE (Redis) is
    down and the SE still stores files (API.md, health). During a Redis outage every SE
    reports ``degraded``; leaving them out would stop all uploads exactly when the fleet is
    meant to keep working. Only ``offline`` SEs are skipped.

    A capacity of 0 means "unknown" (not yet polled): such an SE is kept, and its own
    507 moves the upload on.
    """
    fits = [
        se
        for se in ses
        if se.mode == mode
        and se.status in WRITABLE_STATUSES
        and (se.capacity_total == 0 or se.capacity_free >= min_free)
    ]
    return sorted(fits, key=lambda se: (se.priority, se.id))


class StaticDiscovery:
    """A fixed set of SEs; ``replace`` swaps it (tests use that to simulate changes)."""

    def __init__(self, ses: Iterable[StorageElementInfo] = ()) -> None:
        self._ses = {se.id: se for se in ses}
        self.version = 0

    def replace(self, ses: Iterable[StorageElementInfo]) -> None:
        self._ses = {se.id: se for se in ses}
        self.version += 1

    def all(self) -> list[StorageElementInfo]:
        return list(self._ses.values())

    def get(self, se_id: str) -> StorageElementInfo | None:
        return self._ses.get(se_id)

    def writable(self, mode: str, min_free: int = 0) -> list[StorageElementInfo]:
        return select_writable(self._ses.values(), mode, min_free)


class SnapshotFetcher(Protocol):
    async def __call__(self) -> dict[str, Any]: ...


class RedisDiscovery:
    """The registry snapshot from Redis, with the admin internal API as a fallback.

    Start-up loads the snapshot (Redis first, then the admin module); a background task
    listens on :data:`SNAPSHOT_CHANNEL` and also refreshes every ``refresh_interval``
    seconds. When Redis fails, the refresh reads the admin module's
    ``GET /internal/v1/storage-elements`` instead and keeps doing so until Redis answers
    again. A snapshot older than the one held (lower ``version``) is ignored, so a slow
    fallback answer can never roll the view back.
    """

    def __init__(
        self,
        redis: Any | None,
        fetch_from_admin: SnapshotFetcher,
        *,
        refresh_interval: float = 10.0,
    ) -> None:
        self.redis = redis
        self.fetch_from_admin = fetch_from_admin
        self.refresh_interval = refresh_interval
        self.version = -1
        self.source = "none"  # redis | admin | none
        self._ses: dict[str, StorageElementInfo] = {}
        self._task: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()

    # -- the Discovery protocol
    def all(self) -> list[StorageElementInfo]:
        return list(self._ses.values())

    def get(self, se_id: str) -> StorageElementInfo | None:
        return self._ses.get(se_id)

    def writable(self, mode: str, min_free: int = 0) -> list[StorageElementInfo]:
        return select_writable(self._ses.values(), mode, min_free)

    # -- loading
    def apply(self, snapshot: dict[str, Any], source: str) -> bool:
        version = int(snapshot.get("version", 0))
        self.source = source
        if version < self.version:
            return False
        self._ses = {
            se.id: se
            for se in (StorageElementInfo.from_dict(raw) for raw in snapshot.get("storage_elements", []))
        }
        self.version = version
        self.changed.set()
        return True

    async def refresh(self) -> str:
        """Load the snapshot once; returns where it came from."""
        if self.redis is not None:
            try:
                raw = await self.redis.get(SNAPSHOT_KEY)
            except Exception as exc:
                log.info("discovery_redis_unavailable", extra={"error": repr(exc)})
            else:
                if raw:
                    self.apply(json.loads(raw), "redis")
                    return "redis"
        try:
            self.apply(await self.fetch_from_admin(), "admin")
            return "admin"
        except Exception as exc:
            log.warning("discovery_admin_unavailable", extra={"error": repr(exc)})
            return "none"

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="discovery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            if self.redis is not None:
                with contextlib.suppress(Exception):
                    await self._listen()
            await self.refresh()
            await asyncio.sleep(self.refresh_interval)

    async def _listen(self) -> None:
        """Follow announcements until Redis fails; refresh periodically meanwhile."""
        pubsub = self.redis.pubsub()  # type: ignore[union-attr]
        try:
            await pubsub.subscribe(SNAPSHOT_CHANNEL)
            await self.refresh()
            loop = asyncio.get_running_loop()
            next_refresh = loop.time() + self.refresh_interval
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None or loop.time() >= next_refresh:
                    await self.refresh()
                    next_refresh = loop.time() + self.refresh_interval
                    if self.source != "redis":
                        return  # Redis answered pub/sub but not GET: fall back to polling
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def health(self) -> None:
        """A readiness check: raises (degraded) while running on the fallback."""
        if self.source != "redis":
            raise RuntimeError(f"discovery is served by {self.source}, not Redis")


def admin_snapshot_fetcher(http: Any, admin_url: str, tokens: Any) -> SnapshotFetcher:
    url = admin_url.rstrip("/") + "/internal/v1/storage-elements"

    async def fetch() -> dict[str, Any]:
        response = await http.get(url, headers=await tokens.headers())
        response.raise_for_status()
        snapshot: dict[str, Any] = response.json()
        return snapshot

    return fetch
