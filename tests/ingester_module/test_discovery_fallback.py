"""The ingester finds its SEs through the registry and keeps uploading when Redis stops.

A real admin module and self-registering storage elements (the processes of
``tests/coordination``) on a private Redis; the ingester runs in-process with no static
SE list, so it discovers the SEs from the Redis snapshot, and after Redis stops from the
admin module's ``GET /internal/v1/storage-elements`` (``shared/discovery.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from ingester_module.app import create_app
from ingester_module.settings import Settings
from tests.coordination.conftest import Fleet as Registry
from tests.coordination.test_registry import eventually
from tests.support.servers import Managed


@asynccontextmanager
async def discovering_ingester(
    registry: Registry, database_url: str, redis_url: str
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The ingester in-process, trusting the real admin module, without a static SE list."""
    assert registry.admin is not None
    settings = Settings(
        env="test",
        database_url=database_url,
        redis_url=redis_url,
        admin_url=registry.admin.url,
        jwt_issuer=registry.admin.url,
        service_client_secret=registry.secrets["svc-ingester"],
        staging_dir=registry.tmp / "staging",
        discovery_refresh_seconds=0.5,
        http_retries=0,
    )
    assert settings.storage_elements == []
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingester", timeout=60) as client:
            yield app, client


async def _upload(client: httpx.AsyncClient, headers: dict[str, str], data: bytes, **params: str) -> Any:
    response = await client.put(
        "/api/v1/files", params={"filename": "doc.bin", **params}, headers=headers, content=data
    )
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()
    return response.json()


def _stored(registry: Registry, se_id: str, file_id: str) -> bytes:
    """The bytes an SE holds for ``file_id``, read as the ingester's service account."""
    headers = registry.service_headers("svc-ingester")
    se = registry.storage[se_id]
    response = httpx.get(f"{se.url}/api/v1/files/{file_id}/content", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


async def test_uploads_keep_working_through_the_admin_fallback_with_redis_stopped(
    tmp_path: Path,
    new_database: Callable[[], Awaitable[str]],
    database_url: str,
    private_redis: Managed,
) -> None:
    registry = Registry(tmp_path, private_redis.url, new_database)
    try:
        admin = await registry.start_admin()
        await registry.start_storage("se-edit", "edit")
        await registry.start_storage("se-rw", "rw")
        people = registry.admin_headers()

        def with_status(status: str) -> set[str]:
            items = httpx.get(f"{admin.url}/api/v1/storage-elements", headers=people, timeout=30).json()
            return {i["id"] for i in items["items"] if i["status"] == status}

        await eventually(
            lambda: with_status("online") == {"se-edit", "se-rw"}, timeout=60, what="both SEs registered"
        )

        async with discovering_ingester(registry, database_url, private_redis.url) as (app, client):
            discovery = app.state.discovery
            await eventually(
                lambda: (
                    discovery.source == "redis"
                    and {s.id for s in discovery.writable("edit") + discovery.writable("rw")}
                    == {"se-edit", "se-rw"}
                ),
                timeout=30,
                what="both SEs discovered through the Redis snapshot",
            )
            before = await _upload(client, people, b"before the outage")
            assert before["storage_element_id"] == "se-edit"

            private_redis.stop()
            await eventually(
                lambda: discovery.source == "admin", timeout=30, what="discovery on the admin fallback"
            )
            ready = (await client.get("/health/ready")).json()
            assert ready["checks"]["discovery"]["status"] != "ok", ready
            assert ready["checks"]["redis"]["status"] != "ok", ready
            # The SEs lost Redis too: the health poller marks them degraded (still working,
            # API.md), and degraded SEs stay writable, so the uploads below must still land.
            await eventually(
                lambda: with_status("degraded") == {"se-edit", "se-rw"},
                timeout=60,
                what="the SEs reported degraded while Redis is down",
            )
            await eventually(
                lambda: {s.status for s in discovery.all()} == {"degraded"},
                timeout=30,
                what="the degraded status reached the ingester through the fallback",
            )

            temporary = await _upload(client, people, b"during the outage")
            assert temporary["storage_element_id"] == "se-edit"
            permanent = await _upload(client, people, b"kept for years", retention_policy="permanent")
            assert permanent["storage_element_id"] == "se-rw"

            # A registry change made while Redis is down reaches the ingester only through the
            # fallback: a new, preferred edit SE registers itself and takes the next upload.
            await registry.start_storage("se-edit-2", "edit", priority=1)
            await eventually(
                lambda: [s.id for s in discovery.writable("edit")][:1] == ["se-edit-2"],
                timeout=60,
                what="the new SE discovered through the admin module",
            )
            assert discovery.source == "admin"
            late = await _upload(client, people, b"after the registry changed")
            assert late["storage_element_id"] == "se-edit-2"

        assert _stored(registry, "se-edit", temporary["file_id"]) == b"during the outage"
        assert _stored(registry, "se-rw", permanent["file_id"]) == b"kept for years"
        assert _stored(registry, "se-edit-2", late["file_id"]) == b"after the registry changed"
    finally:
        registry.stop()
