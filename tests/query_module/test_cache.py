"""The two-level metadata cache: invalidated across replicas over Redis, short TTL without it."""

from __future__ import annotations

import asyncio
from typing import Any

from query_module.cache.cache import OFFLINE_TTL, LruTtl
from tests.query_module.conftest import Feed, QueryFactory, apply_feed, bearer, eventually, make_record
from tests.support.servers import Managed
from tests.support.tokens import TestKeys


async def _description(q: Any, token: str, file_id: str) -> str:
    response = await q.client.get(f"/api/v1/files/{file_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return str(response.json()["description"])


async def test_metadata_update_is_visible_through_another_replicas_cache(
    query: QueryFactory, keys: TestKeys
) -> None:
    feed = Feed("se-a")
    rec = feed.upsert(make_record(description="first"))
    token = keys.user("OPERATOR", "olga")
    async with query() as a, query() as b:
        await eventually(lambda: asyncio.sleep(0, result=a.app.state.cache.live and b.app.state.cache.live))
        await apply_feed(a.app, feed)
        assert await _description(b, token, rec["file_id"]) == "first"
        assert await _description(b, token, rec["file_id"]) == "first"
        assert b.app.state.cache.hits["local"] >= 1  # served from B's level 1
        assert b.app.state.cache.local_ttl == b.app.state.settings.cache_ttl_seconds  # long TTL: Redis is up

        feed.upsert({**rec, "description": "second", "revision": 2})
        await apply_feed(a.app, feed)  # replica A's runner applies it and publishes the invalidation

        async def updated() -> bool:
            return await _description(b, token, rec["file_id"]) == "second"

        await eventually(updated, timeout=5)
        # A third replica starts cold and fills from Redis (level 2), not Postgres.
        async with query() as c:
            await eventually(lambda: asyncio.sleep(0, result=c.app.state.cache.live))
            assert await _description(c, token, rec["file_id"]) == "second"
            assert c.app.state.cache.hits["redis"] == 1 and c.app.state.cache.hits["miss"] == 0


async def test_without_redis_the_local_ttl_is_at_most_five_seconds(
    query: QueryFactory, keys: TestKeys, private_redis: Managed
) -> None:
    feed = Feed("se-a")
    rec = feed.upsert(make_record(description="first"))
    token = keys.user("OPERATOR", "olga")
    async with query(redis_url=None) as a, query(redis_url=private_redis.url, cache_ttl_seconds=600) as b:
        assert a.app.state.cache.local_ttl <= OFFLINE_TTL
        await eventually(lambda: asyncio.sleep(0, result=b.app.state.cache.live))
        await apply_feed(a.app, feed)
        assert await _description(b, token, rec["file_id"]) == "first"
        private_redis.stop()  # B no longer hears invalidations
        await eventually(lambda: asyncio.sleep(0, result=not b.app.state.cache.live), timeout=10)
        assert b.app.state.cache.local_ttl <= OFFLINE_TTL
        feed.upsert({**rec, "description": "second", "revision": 2})
        await apply_feed(a.app, feed)

        async def updated() -> bool:
            return await _description(b, token, rec["file_id"]) == "second"

        await eventually(updated, timeout=OFFLINE_TTL + 3)


def test_lru_is_bounded_and_expires() -> None:
    lru = LruTtl(3)
    for i in range(5):
        lru.put(str(i), {"i": i})
    assert len(lru) == 3 and lru.get("0", 60) is None and lru.get("4", 60) == {"i": 4}
    lru.get("2", 60)
    lru.put("5", {"i": 5})  # evicts the least recently used: "3"
    assert lru.get("3", 60) is None and lru.get("2", 60) == {"i": 2}
    assert lru.get("2", -1) is None  # expired
