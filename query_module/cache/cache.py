"""The two-level metadata cache (ARCHITECTURE.md section 7).

Level 1 is a bounded in-process LRU whose entries expire after a TTL; level 2 is Redis
(shared by the replicas); below both, the catalog in Postgres. The feed runner, after
committing changes, deletes the Redis entries and publishes the changed file ids on
:data:`INVALIDATION_CHANNEL`; every replica's listener evicts them from its level 1.

Without a working Redis subscription a replica cannot hear invalidations, so its level-1
TTL is capped at :data:`OFFLINE_TTL` seconds (and level 2 is skipped). When the
subscription comes back, level 1 is cleared, since invalidations may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger("artstore.query.cache")

INVALIDATION_CHANNEL = "artstore:query:invalidate"
KEY_PREFIX = "artstore:query:file:"
OFFLINE_TTL = 5.0

Loader = Callable[[str], Awaitable[dict[str, Any] | None]]


class LruTtl:
    """A bounded LRU; each entry remembers when it was stored, the TTL is checked on read."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def get(self, key: str, ttl: float) -> dict[str, Any] | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        stored, value = entry
        if time.monotonic() - stored > ttl:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._data[key] = (time.monotonic(), value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def evict(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class MetadataCache:
    def __init__(self, redis: Redis | None, *, max_entries: int, ttl: float, redis_ttl: float) -> None:
        self.redis = redis
        self.local = LruTtl(max_entries)
        self.ttl = ttl
        self.redis_ttl = redis_ttl
        # True while this replica's invalidation subscription is up (set by the listener).
        self.live = False
        self._redis_dirty = False
        self.hits = {"local": 0, "redis": 0, "miss": 0}

    @property
    def local_ttl(self) -> float:
        return self.ttl if self.live else min(self.ttl, OFFLINE_TTL)

    async def get(self, file_id: str, loader: Loader) -> dict[str, Any] | None:
        value = self.local.get(file_id, self.local_ttl)
        if value is not None:
            self.hits["local"] += 1
            return value
        value = await self._redis_get(file_id)
        if value is not None:
            self.hits["redis"] += 1
            self.local.put(file_id, value)
            return value
        self.hits["miss"] += 1
        value = await loader(file_id)
        if value is not None:
            self.local.put(file_id, value)
            await self._redis_set(file_id, value)
        return value

    async def _redis_get(self, file_id: str) -> dict[str, Any] | None:
        if self.redis is None or not self.live:
            return None
        try:
            raw = await self.redis.get(KEY_PREFIX + file_id)
        except Exception as exc:  # Redis is optional: fall through to Postgres
            log.debug("cache_redis_get_failed", extra={"error": repr(exc)})
            return None
        return json.loads(raw) if raw else None

    async def _redis_set(self, file_id: str, value: dict[str, Any]) -> None:
        if self.redis is None or not self.live:
            return
        try:
            await self.redis.set(KEY_PREFIX + file_id, json.dumps(value), ex=max(1, int(self.redis_ttl)))
        except Exception as exc:
            log.debug("cache_redis_set_failed", extra={"error": repr(exc)})

    def evict_local(self, file_ids: Iterable[str] | None) -> None:
        if file_ids is None:
            self.local.clear()
        else:
            self.local.evict(file_ids)

    async def invalidate(self, file_ids: Iterable[str] | None) -> None:
        """After a commit: drop the entries here, in Redis, and tell every replica.

        ``None`` means everything (a mode change touches every file of an SE). The Redis
        entries are deleted again a moment later, in case a replica that read the old row
        just before the commit wrote it back in between.
        """
        ids = None if file_ids is None else sorted(set(file_ids))
        if ids == []:
            return
        self.evict_local(ids)
        await self._invalidate_redis(ids)
        if self.redis is not None:
            asyncio.get_running_loop().call_later(1.0, self._schedule_second_pass, ids)

    def _schedule_second_pass(self, ids: list[str] | None) -> None:
        # Keep a reference until done (the loop holds only weak references to tasks).
        task = asyncio.ensure_future(self._invalidate_redis(ids))
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    async def _invalidate_redis(self, ids: list[str] | None) -> None:
        if self.redis is None:
            return
        if self._redis_dirty:
            ids = None  # an earlier invalidation did not reach Redis: purge level 2 entirely
        try:
            if ids is None:
                keys = [key async for key in self.redis.scan_iter(match=KEY_PREFIX + "*", count=1000)]
            else:
                keys = [KEY_PREFIX + i for i in ids]
            for start in range(0, len(keys), 500):
                await self.redis.delete(*keys[start : start + 500])
            await self.redis.publish(INVALIDATION_CHANNEL, json.dumps({"file_ids": ids}))
            self._redis_dirty = False
        except Exception as exc:
            self._redis_dirty = True
            log.debug("cache_invalidate_redis_failed", extra={"error": repr(exc)})

    async def reconnected(self) -> None:
        """Redis is back: clear level 1 (invalidations were missed) and, if an invalidation
        of ours was lost, level 2."""
        self.evict_local(None)
        if self._redis_dirty:
            await self._invalidate_redis(None)

    def handle_message(self, data: bytes | str) -> None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            body = json.loads(data)
            self.evict_local(body.get("file_ids"))


_pending: set[asyncio.Future[None]] = set()
