"""A service's part in the fleet: its heartbeat and, for consumers, SE discovery.

``fleet_member`` is entered in a service's lifespan after :func:`shared.app.core_resources`:
it starts the heartbeat to the admin module and, when asked, a discovery client: the
static list from settings when one is configured (tests, single-node setups), else the
Redis snapshot with the admin module's internal API as fallback. While discovery runs on
the fallback, readiness reports ``degraded``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI

from shared.app import CoreResources
from shared.discovery import (
    Discovery,
    RedisDiscovery,
    StaticDiscovery,
    StorageElementInfo,
    admin_snapshot_fetcher,
)
from shared.heartbeat import Heartbeat
from shared.settings import ServiceSettings
from shared.tasks import cancel_and_wait


def static_discovery(entries: Sequence[dict[str, Any]]) -> StaticDiscovery:
    return StaticDiscovery(StorageElementInfo.from_dict(raw) for raw in entries)


@contextlib.asynccontextmanager
async def fleet_member(
    app: FastAPI,
    settings: ServiceSettings,
    core: CoreResources,
    tokens: Any,
    *,
    kind: str,
    static_storage_elements: Sequence[dict[str, Any]] = (),
    discover: bool = False,
) -> AsyncIterator[Discovery | None]:
    heartbeat = Heartbeat(
        core.http,
        tokens,
        settings.admin_url,
        kind=kind,
        instance_id=settings.instance_id,
        url=settings.public_url,
        interval=settings.heartbeat_seconds,
    )
    app.state.heartbeat = heartbeat
    beating = asyncio.create_task(heartbeat.run(), name="heartbeat")
    discovery: Discovery | None = None
    redis_discovery: RedisDiscovery | None = None
    if discover and static_storage_elements:
        discovery = static_discovery(static_storage_elements)
    elif discover:
        redis_discovery = RedisDiscovery(
            core.redis,
            admin_snapshot_fetcher(core.http, settings.admin_url, tokens),
            refresh_interval=settings.discovery_refresh_seconds,
        )
        await redis_discovery.start()
        app.state.health.add("discovery", redis_discovery.health, required=False)
        discovery = redis_discovery
    try:
        yield discovery
    finally:
        await cancel_and_wait([beating])
        if redis_discovery is not None:
            await redis_discovery.stop()
