"""``create_app(settings)``: the storage element as an ASGI app.

Every resource is opened in the lifespan and closed on the way out (STYLE.md habit 7).
The WAL is recovered before the first request is served.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from shared.app import build_app, core_resources
from shared.heartbeat import Heartbeat
from shared.outbox import OutboxDeliverer
from shared.service_token import ServiceTokenProvider
from shared.tasks import cancel_and_wait
from shared.version import __version__
from storage_element.changes.router import router as changes_router
from storage_element.files.router import router as files_router
from storage_element.jobs import retention
from storage_element.jobs.registry import Jobs
from storage_element.jobs.router import router as jobs_router
from storage_element.lifecycle import build_store, prepare
from storage_element.mode.router import router as mode_router
from storage_element.registration import register_until_accepted
from storage_element.settings import Settings
from storage_element.storage.backends.base import Backend

SERVICE = "storage_element"
MIGRATIONS = Path(__file__).parent / "migrations"


def _fleet_tasks(
    settings: Settings, http: httpx.AsyncClient, tokens: ServiceTokenProvider
) -> list[asyncio.Task[None]]:
    """Self-registration with the admin module (retried until accepted) and the heartbeat."""
    url = settings.public_url or f"http://{settings.host}:{settings.port}"
    heartbeat = Heartbeat(
        http,
        tokens,
        settings.admin_url,
        kind=SERVICE,
        instance_id=settings.instance_id or settings.se_id,
        url=url,
        interval=settings.heartbeat_seconds,
    )
    registration = register_until_accepted(http, tokens, settings.admin_url, se_id=settings.se_id, url=url)
    return [
        asyncio.create_task(registration, name="registration"),
        asyncio.create_task(heartbeat.run(), name="heartbeat"),
    ]


def create_app(settings: Settings | None = None, *, backend: Backend | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core_resources(app, settings, migrations=MIGRATIONS) as core:
            store = await build_store(settings, core.sessions, core.redis, backend)
            await prepare(store)
            app.state.store, app.state.jobs = store, Jobs()
            tasks = [asyncio.create_task(retention.run_forever(store), name="retention")]
            secret = settings.service_client_secret.get_secret_value()
            if secret:
                tokens = ServiceTokenProvider(
                    core.http,
                    settings.admin_url.rstrip("/") + "/api/v1/auth/token",
                    settings.service_client_id,
                    secret,
                )
                deliverer = OutboxDeliverer(
                    core.sessions, core.http, tokens, settings.admin_url, registry=app.state.metrics.registry
                )
                tasks.append(asyncio.create_task(deliverer.run(), name="outbox"))
                tasks += _fleet_tasks(settings, core.http, tokens)
            try:
                yield
            finally:
                await app.state.jobs.close()
                await cancel_and_wait(tasks)

    app = build_app(
        settings, service=SERVICE, title="ArtStore storage element", version=__version__, lifespan=lifespan
    )
    for router in (files_router, changes_router, mode_router, jobs_router):
        app.include_router(router)
    return app
