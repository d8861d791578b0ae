"""The discovery snapshot in Redis only moves forward (issue 6, item 4)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from admin_module.storage_elements.publisher import write_snapshot
from shared.discovery import SNAPSHOT_CHANNEL, SNAPSHOT_KEY
from tests.coordination.conftest import Fleet
from tests.coordination.test_registry import eventually
from tests.support.servers import Managed


def snap(version: int, *se_ids: str) -> dict[str, Any]:
    return {"version": version, "storage_elements": [{"id": se_id} for se_id in se_ids]}


async def stored(redis: Redis) -> dict[str, Any]:
    raw = await redis.get(SNAPSHOT_KEY)
    assert raw is not None
    body: dict[str, Any] = json.loads(raw)
    return body


async def test_an_older_snapshot_never_overwrites_a_newer_one(private_redis: Managed) -> None:
    redis = Redis.from_url(private_redis.url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(SNAPSHOT_CHANNEL)
    assert (await pubsub.get_message(timeout=5.0) or {}).get("type") == "subscribe"
    try:
        assert await write_snapshot(redis, snap(5, "new"))
        # A slower replica read version 4 before the change and writes after it.
        assert not await write_snapshot(redis, snap(4, "old"))
        assert await stored(redis) == snap(5, "new")
        assert await write_snapshot(redis, snap(5, "new"))  # periodic republication
        assert await write_snapshot(redis, snap(6, "newer"))
        assert await stored(redis) == snap(6, "newer")
        await redis.set(SNAPSHOT_KEY, "not json")  # whatever was there, a snapshot replaces it
        assert await write_snapshot(redis, snap(1, "any"))

        announced: list[bytes] = []
        while message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0):
            announced.append(message["data"])
        assert announced == [b"5", b"5", b"6", b"1"]  # never the refused version 4
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def test_the_version_survives_an_admin_restart_and_a_newer_snapshot_is_kept(
    tmp_path: Path, private_redis: Managed, new_database: Callable[[], Awaitable[str]]
) -> None:
    fleet = Fleet(tmp_path, private_redis.url, new_database)
    redis = Redis.from_url(private_redis.url)
    try:
        admin = await fleet.start_admin()  # republishes every 2 s
        await fleet.start_storage("se-v", "rw")
        service = fleet.service_headers("svc-query")

        def version() -> int:
            response = httpx.get(f"{admin.url}/internal/v1/storage-elements", headers=service, timeout=30)
            assert response.status_code == 200, response.text
            return int(response.json()["version"])

        async def in_redis(at_least: int) -> bool:
            return bool(await redis.get(SNAPSHOT_KEY)) and (await stored(redis))["version"] >= at_least

        await eventually(lambda: version() >= 1, what="se-v registered")
        before = version()
        await eventually(lambda: in_redis(before), what="the snapshot in Redis")

        # The version lives in Postgres: the restarted admin (same database) goes on from it.
        admin.kill()
        admin.start()
        service = fleet.service_headers("svc-query")
        assert version() >= before
        changed = httpx.patch(
            f"{admin.url}/api/v1/storage-elements/se-v", json={"priority": 7}, headers=fleet.admin_headers()
        )
        assert changed.status_code == 200, changed.text
        after = version()
        assert after > before
        await eventually(lambda: in_redis(after), what="the new version in Redis")

        # A newer replica's snapshot: three republications later it is still there.
        await redis.set(SNAPSHOT_KEY, json.dumps(snap(10**6, "from-a-newer-replica")))
        await asyncio.sleep(6)
        assert await stored(redis) == snap(10**6, "from-a-newer-replica")
    finally:
        fleet.stop()
        await redis.aclose()
