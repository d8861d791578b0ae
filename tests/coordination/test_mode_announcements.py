"""A mode changed on the storage element itself reaches discovery at once (issue 6, item 6)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from redis.asyncio import Redis

from shared.discovery import SE_CHANGES_CHANNEL, RedisDiscovery, admin_snapshot_fetcher
from tests.coordination.conftest import Fleet
from tests.coordination.test_registry import Tokens, eventually


async def _next_mode_announcement(pubsub: Any, se_id: str) -> dict[str, Any]:
    async def mode_message() -> dict[str, Any] | None:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        body: dict[str, Any] | None = json.loads(message["data"]) if message else None
        # Pub/sub channels span the server's databases: other tests' SEs announce here too.
        return body if body and body.get("op") == "mode" and body.get("se_id") == se_id else None

    announced: dict[str, Any] = await eventually(mode_message, timeout=20, what="a mode announcement")
    return announced


async def test_mode_changed_on_the_se_reaches_discovery_before_the_next_poll(fleet: Fleet) -> None:
    # Polls and republications a minute apart: only the SE's announcement can be this quick.
    admin = await fleet.start_admin(health_poll_seconds="60", registry_republish_seconds="60")
    se = await fleet.start_storage("se-direct", "rw")
    redis = Redis.from_url(fleet.redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(SE_CHANGES_CHANNEL)
    async with httpx.AsyncClient(timeout=30) as http:
        discovery = RedisDiscovery(
            redis,
            admin_snapshot_fetcher(http, admin.url, Tokens(fleet.service_headers("svc-query"))),
            refresh_interval=60,
        )
        await discovery.start()
        try:
            await eventually(lambda: discovery.get("se-direct") is not None, what="se-direct discovered")
            assert discovery.get("se-direct").mode == "rw"  # type: ignore[union-attr]

            # The operator goes to the SE directly (API.md allows it), not through the admin.
            changed = await http.post(
                f"{se.url}/api/v1/mode", json={"mode": "ro"}, headers=fleet.admin_headers()
            )
            assert changed.status_code == 200 and changed.json()["mode"] == "ro", changed.text

            announced = await _next_mode_announcement(pubsub, "se-direct")
            assert announced["seq"] > 0 and announced["feed_epoch"]

            await eventually(
                lambda: discovery.get("se-direct").mode == "ro",  # type: ignore[union-attr]
                timeout=15,
                what="mode ro in discovery well before the next poll",
            )
            assert discovery.writable("rw") == []
            detail = f"{admin.url}/api/v1/storage-elements/se-direct"
            listed = (await http.get(detail, headers=fleet.admin_headers())).json()
            assert listed["mode"] == "ro" and "create" not in listed["allowed_operations"]
        finally:
            await discovery.stop()
            await pubsub.aclose()
            await redis.aclose()
