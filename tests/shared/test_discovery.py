"""The discovery client follows Redis, falls back to the admin API, and comes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis

from shared.discovery import (
    SNAPSHOT_CHANNEL,
    SNAPSHOT_KEY,
    RedisDiscovery,
    StaticDiscovery,
    StorageElementInfo,
)
from tests.support import servers


def snapshot(version: int, *ses: dict[str, Any]) -> dict[str, Any]:
    return {"version": version, "storage_elements": list(ses)}


def se(
    se_id: str, mode: str = "rw", status: str = "online", priority: int = 10, free: int = 10**9
) -> dict[str, Any]:
    return {
        "id": se_id,
        "name": se_id,
        "url": f"http://{se_id}:1",
        "mode": mode,
        "status": status,
        "priority": priority,
        "capacity": {"total": 10**10, "free": free},
    }


class AdminApi:
    """The admin module's internal snapshot endpoint, as a function (our own protocol)."""

    def __init__(self) -> None:
        self.snapshot = snapshot(0)
        self.calls = 0
        self.up = True

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if not self.up:
            raise ConnectionError("admin down")
        return self.snapshot


async def eventually(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def publish(redis: Redis, snap: dict[str, Any]) -> None:
    await redis.set(SNAPSHOT_KEY, json.dumps(snap))
    await redis.publish(SNAPSHOT_CHANNEL, str(snap["version"]))


async def test_writable_selection_orders_by_priority_keeps_degraded_and_skips_unfit() -> None:
    discovery = StaticDiscovery(
        StorageElementInfo.from_dict(raw)
        for raw in [
            se("b", priority=20),
            se("a", priority=10),
            se("off", status="offline"),
            se("d", priority=15, status="degraded"),
            se("edit", mode="edit"),
            se("full", free=10),
            se("c", priority=10),
        ]
    )
    assert [s.id for s in discovery.writable("rw", min_free=1000)] == ["a", "c", "d", "b"]
    assert [s.id for s in discovery.writable("edit")] == ["edit"]
    assert discovery.get("off") is not None and discovery.get("nope") is None


async def test_follows_redis_announcements(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    await publish(redis, snapshot(1, se("se-1")))
    admin = AdminApi()
    discovery = RedisDiscovery(redis, admin, refresh_interval=30)
    await discovery.start()
    try:
        assert [s.id for s in discovery.all()] == ["se-1"] and discovery.source == "redis"
        await publish(redis, snapshot(2, se("se-1", mode="ro"), se("se-2")))
        await eventually(lambda: discovery.version == 2)
        assert discovery.get("se-1").mode == "ro"  # type: ignore[union-attr]
        assert [s.id for s in discovery.writable("rw")] == ["se-2"]
        assert admin.calls == 0
    finally:
        await discovery.stop()
        await redis.aclose()


async def test_older_snapshot_never_rolls_back(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    discovery = RedisDiscovery(redis, AdminApi(), refresh_interval=30)
    assert discovery.apply(snapshot(5, se("new")), "redis")
    assert not discovery.apply(snapshot(4, se("old")), "admin")
    assert [s.id for s in discovery.all()] == ["new"]
    await redis.aclose()


async def test_falls_back_to_admin_and_returns_to_redis() -> None:
    server = servers.start_redis()
    port = urlsplit(server.url).port
    redis = Redis.from_url(server.url, socket_connect_timeout=0.5, socket_timeout=0.5)
    await publish(redis, snapshot(1, se("se-1")))
    admin = AdminApi()
    admin.snapshot = snapshot(2, se("se-1"), se("se-2"))
    discovery = RedisDiscovery(redis, admin, refresh_interval=0.3)
    await discovery.start()
    try:
        assert discovery.source == "redis"
        server.stop()
        await eventually(lambda: discovery.source == "admin")
        assert {s.id for s in discovery.all()} == {"se-1", "se-2"}
        try:
            await discovery.health()
            raise AssertionError("health must report the fallback")
        except RuntimeError as exc:
            assert "admin" in str(exc)
        server = servers.start_redis(port)
        await publish(redis, snapshot(3, se("se-3")))
        await eventually(lambda: discovery.source == "redis" and discovery.version == 3)
        assert [s.id for s in discovery.all()] == ["se-3"]
        await discovery.health()
    finally:
        await discovery.stop()
        await redis.aclose()
        server.stop()


async def test_without_redis_at_all_uses_admin() -> None:
    admin = AdminApi()
    admin.snapshot = snapshot(7, se("only"))
    discovery = RedisDiscovery(None, admin, refresh_interval=0.2)
    await discovery.start()
    try:
        assert discovery.source == "admin" and [s.id for s in discovery.all()] == ["only"]
        admin.snapshot = snapshot(8, se("only", mode="ro"))
        await eventually(lambda: discovery.version == 8)
    finally:
        await discovery.stop()
