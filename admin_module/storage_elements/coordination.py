"""The admin module's coordination tasks, opened and closed with its lifespan.

Health polling of the storage elements, publication of the discovery snapshot, following
the SEs' mode announcements, and the admin module's own heartbeat (it records itself
directly; other services use HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from admin_module.keys.service import KeyRing
from admin_module.settings import Settings
from admin_module.storage_elements import repository, service
from admin_module.storage_elements.client import StorageElementClient
from admin_module.storage_elements.leadership import Leadership
from admin_module.storage_elements.publisher import HealthPoller, Publisher
from admin_module.storage_elements.self_token import LocalServiceTokens
from shared.app import CoreResources
from shared.db import unit_of_work
from shared.discovery import SE_CHANGES_CHANNEL
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


def mode_change_of(data: Any) -> str | None:
    """The SE id of a ``mode`` announcement on :data:`SE_CHANGES_CHANNEL`, else None."""
    with contextlib.suppress(ValueError, TypeError, AttributeError, KeyError):
        body = json.loads(data)
        if body.get("op") == "mode":
            return str(body["se_id"])
    return None


async def _listen_for_modes(redis: Any, poller: HealthPoller) -> None:
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(SE_CHANGES_CHANNEL)
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                await redis.ping()  # a dead connection shows here, not in get_message
                continue
            se_id = mode_change_of(message["data"])
            if se_id is None:
                continue
            try:
                await poller.poll_one(se_id)
            except Exception as exc:
                log.warning("mode_change_poll_failed", extra={"se_id": se_id, "error": repr(exc)})
    finally:
        with contextlib.suppress(Exception):
            await pubsub.aclose()


async def follow_mode_changes(redis: Any, poller: HealthPoller) -> None:
    """A mode may change on the SE itself (its own ``POST /api/v1/mode``); the SE announces it
    on :data:`SE_CHANGES_CHANNEL`, and that SE is polled at once so discovery sees the new
    mode before the next health poll. Without Redis the periodic poll alone carries it."""
    while True:
        try:
            await _listen_for_modes(redis, poller)
        except Exception as exc:
            log.warning("se_changes_unavailable", extra={"error": repr(exc)})
        await asyncio.sleep(1.0)


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
    leadership = Leadership(core.engine, repository.POLL_LOCK)
    poller = HealthPoller(core.sessions, client, publisher, leadership, interval=settings.health_poll_seconds)
    app.state.se_client, app.state.registry_publisher, app.state.health_poller = client, publisher, poller
    tasks = [
        asyncio.create_task(publisher.run(), name="registry-publisher"),
        asyncio.create_task(poller.run(), name="health-poller"),
        asyncio.create_task(_own_heartbeat(core, settings, settings.heartbeat_seconds), name="own-heartbeat"),
    ]
    if core.redis is not None:
        tasks.append(asyncio.create_task(follow_mode_changes(core.redis, poller), name="se-mode-changes"))
    publisher.request(0)
    try:
        yield
    finally:
        await cancel_and_wait(tasks)
        await leadership.release()  # a standby replica takes over at its next attempt
