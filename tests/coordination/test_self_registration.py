"""Storage elements register themselves; consumers discover them, with and without Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.coordination.conftest import Fleet
from tests.coordination.test_registry import eventually
from tests.support import servers
from tests.support.processes import ServiceProcess


async def test_storage_elements_register_themselves(fleet: Fleet) -> None:
    admin = await fleet.start_admin()
    await fleet.start_storage("se-self-1", "edit")
    await fleet.start_storage("se-self-2", "rw")
    headers = fleet.admin_headers()

    def registered() -> set[str]:
        items = httpx.get(f"{admin.url}/api/v1/storage-elements", headers=headers).json()["items"]
        return {item["id"] for item in items if item["status"] == "online"}

    await eventually(lambda: registered() == {"se-self-1", "se-self-2"}, what="both SEs registered")
    fleet_view = httpx.get(f"{admin.url}/api/v1/fleet", headers=headers).json()
    assert {i["kind"] for i in fleet_view["items"]} >= {"admin_module", "storage_element"}


async def test_a_storage_element_started_before_the_admin_registers_once_it_answers(fleet: Fleet) -> None:
    admin = await fleet.admin_process()  # its port is chosen, nothing listens there yet
    await fleet.start_storage("se-early", "rw")
    log = fleet.tmp / "se-early.log"
    await eventually(lambda: log.read_text().count("registration_failed") >= 2, what="refused attempts")
    admin.start()
    headers = fleet.admin_headers()

    def registered() -> bool:
        response = httpx.get(f"{admin.url}/api/v1/storage-elements/se-early", headers=headers)
        return response.status_code == 200 and response.json()["status"] == "online"

    # The SE retries with a capped backoff (at most 30 s between attempts; seconds here).
    await eventually(registered, timeout=60, what="se-early registered itself")
    assert '"registered"' in log.read_text()


async def test_consumer_falls_back_to_admin_when_redis_stops(
    tmp_path: Path, new_database: Callable[[], Awaitable[str]]
) -> None:
    redis = servers.start_redis()
    port = urlsplit(redis.url).port
    fleet = Fleet(tmp_path, redis.url, new_database)
    try:
        admin = await fleet.start_admin()
        se = await fleet.start_storage("se-x", "rw")
        operator = fleet.admin_headers()
        registered = httpx.post(
            f"{admin.url}/api/v1/storage-elements", json={"url": se.url}, headers=operator
        )
        assert registered.status_code in (200, 201), registered.text
        query = ServiceProcess(
            "query_module",
            "ARTSTORE_QUERY_",
            {
                "database_url": await new_database(),
                "redis_url": redis.url,
                "admin_url": admin.url,
                "jwt_issuer": admin.url,
                "service_client_secret": fleet.secrets["svc-query"],
                "discovery_refresh_seconds": "0.5",
                "link_secret": "x" * 40,
            },
            log_path=tmp_path / "query.log",
        ).start()

        def ready() -> dict[str, Any]:
            body: dict[str, Any] = httpx.get(f"{query.url}/health/ready", timeout=10).json()
            return body

        def feeds() -> list[str]:
            items = httpx.get(f"{query.url}/api/v1/catalog/feeds", headers=operator, timeout=10).json()[
                "items"
            ]
            return [item["se_id"] for item in items]

        # Found through the Redis snapshot: the query module reads the new SE's feed.
        await eventually(lambda: feeds() == ["se-x"], what="the query module follows se-x")
        await eventually(lambda: ready()["status"] == "ok", what="query ready")

        redis.stop()
        await eventually(
            lambda: ready()["checks"].get("discovery", {}).get("status") == "degraded",
            what="discovery degraded",
        )
        body = ready()
        assert body["status"] == "degraded" and httpx.get(f"{query.url}/health/ready").status_code == 200
        assert "admin" in body["checks"]["discovery"]["detail"]
        assert feeds() == ["se-x"]  # still served, from the admin module's internal API

        redis = servers.start_redis(port)
        await eventually(lambda: ready()["status"] == "ok", timeout=30, what="back to Redis")
        query.stop()
    finally:
        fleet.stop()
        redis.stop()
        await asyncio.sleep(0)
