"""The admin module's coordination tasks, opened and closed with its lifespan.

Health polling of the storage elements, publication of the discovery snapshot, and the
admin module's own heartbeat (it records itself directly; other services use HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import FastAPI

from admin_module.keys.service import KeyRing
from admin_module.settings import Settings
from admin_module.storage_elements import service
from admin_module.storage_elements.client import StorageElementClient
from admin_module.storage_elements.publisher import HealthPoller, Publisher
from admin_module.storage_elements.self_token import LocalServiceTokens
from shared.app import CoreResources
from shared.db import unit_of_work
from shared.tasks import cancel_and_wait
from shared.version import __version__

log = logging.getLogger("artstore.coordination")


async def _own_heartbeat(core: CoreResources, settings: Settings, every: float) -> None:
    instance_id = settings.instance_id or f"admin-{socket.gethostname()}-{os.getpid()}"
    values = {
        "kind": "admin_module",
        "instance_id": instance_id,
        "url": settings.public_url or settings.admin_url,
        "version": __version__,
        "started_at": datetime.now(UTC),
    }
    while True:
        try:
            async with unit_of_work(core.sessions) as session:
                await service.heartbeat(session, values)
        except Exception as exc:
            log.warning("own_heartbeat_failed", extra={"error": repr(exc)})
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def coordination(
    app: FastAPI, settings: Settings, core: CoreResources, ring: KeyRing
) -> AsyncIterator[None]:
    tokens = LocalServiceTokens(
        core.sessions,
        ring,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=settings.access_token_lifetime_seconds,
    )
    client = StorageElementClient(core.http, tokens, timeout=settings.se_call_timeout_seconds)
    publisher = Publisher(core.sessions, core.redis, republish_interval=settings.registry_republish_seconds)
    poller = HealthPoller(core.sessions, client, publisher, interval=settings.health_poll_seconds)
    app.state.se_client, app.state.registry_publisher, app.state.health_poller = client, publisher, poller
    tasks = [
        asyncio.create_task(publisher.run(), name="registry-publisher"),
        asyncio.create_task(poller.run(), name="health-poller"),
        asyncio.create_task(_own_heartbeat(core, settings, settings.heartbeat_seconds), name="own-heartbeat"),
    ]
    publisher.request(0)
    try:
        yield
    finally:
        await cancel_and_wait(tasks)
