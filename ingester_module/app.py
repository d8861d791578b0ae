"""``create_app(settings)``: the ingester as an ASGI app.

Every resource is opened in the lifespan and closed on the way out (STYLE.md habit 7):
the shared core (database, Redis, HTTP client, token verifier), the discovery of storage
elements, the ingester's own service token, the aiohttp session of the SE data path, and
the background tasks (saga workers, audit outbox delivery, tus staging cleanup).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ingester_module.clients.storage import StorageClient
from ingester_module.files.router import router as files_router
from ingester_module.files.service import Files
from ingester_module.placement.breaker import Breakers
from ingester_module.sagas.router import router as sagas_router
from ingester_module.sagas.service import Sagas
from ingester_module.sagas.worker import SagaWorker
from ingester_module.settings import Settings
from ingester_module.tus.router import router as tus_router
from ingester_module.tus.service import Tus
from ingester_module.tus.store import TusStore
from ingester_module.uploads.router import router as uploads_router
from ingester_module.uploads.service import Uploader
from shared.app import build_app, core_resources
from shared.coordination import fleet_member
from shared.http import create_data_session
from shared.outbox import OutboxDeliverer
from shared.service_token import ServiceTokenProvider
from shared.tasks import cancel_and_wait
from shared.version import __version__

SERVICE = "ingester_module"
MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("artstore.ingester")


class _StateTokens:
    """The SE client asks ``app.state.tokens`` at call time (tests may swap it)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def headers(self) -> dict[str, str]:
        headers: dict[str, str] = await self.app.state.tokens.headers()
        return headers


async def _every(interval: float, job: Callable[[], Awaitable[Any]], name: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except Exception:
            log.exception(f"{name}_failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core_resources(app, settings, migrations=MIGRATIONS) as core:
            app.state.tokens = ServiceTokenProvider(
                core.http,
                settings.admin_url.rstrip("/") + "/api/v1/auth/token",
                settings.service_client_id,
                settings.service_client_secret.get_secret_value(),
            )
            async with fleet_member(
                app,
                settings,
                core,
                _StateTokens(app),
                kind=SERVICE,
                static_storage_elements=settings.storage_elements,
                discover=True,
            ) as discovery:
                app.state.discovery = discovery
                async with create_data_session(
                    connect_timeout=settings.se_connect_timeout_seconds,
                    read_timeout=settings.se_timeout_seconds,
                ) as se_session:
                    storage = StorageClient(se_session, _StateTokens(app))
                    breakers = Breakers(
                        threshold=settings.breaker_failure_threshold,
                        reset_seconds=settings.breaker_reset_seconds,
                    )
                    await _wire(app, settings, core.sessions, storage, breakers)
                    tasks = _start_background(app, settings, core)
                    try:
                        yield
                    finally:
                        await cancel_and_wait(tasks)

    app = build_app(
        settings, service=SERVICE, title="ArtStore ingester", version=__version__, lifespan=lifespan
    )
    app.include_router(uploads_router)
    app.include_router(files_router)
    app.include_router(sagas_router)
    app.include_router(tus_router)
    return app


async def _wire(
    app: FastAPI, settings: Settings, sessions: Any, storage: StorageClient, breakers: Breakers
) -> None:
    discovery = app.state.discovery
    app.state.breakers = breakers
    app.state.storage = storage
    app.state.uploader = Uploader(
        discovery=discovery,
        breakers=breakers,
        storage=storage,
        max_bytes=settings.max_upload_bytes,
        default_ttl_days=settings.default_ttl_days,
    )
    app.state.files = Files(discovery=discovery, breakers=breakers, storage=storage)
    app.state.saga_worker = SagaWorker(
        sessions,
        storage=storage,
        discovery=discovery,
        breakers=breakers,
        interval=settings.saga_worker_interval_seconds,
        lease=settings.saga_lease_seconds,
        max_attempts=settings.saga_max_attempts,
        backoff_base=settings.saga_backoff_base_seconds,
        backoff_max=settings.saga_backoff_max_seconds,
        copy_bytes_per_second=settings.saga_copy_bytes_per_second,
    )
    app.state.sagas = Sagas(files=app.state.files, worker=app.state.saga_worker)
    store = TusStore(settings.staging_dir)
    store.ensure()
    app.state.tus = Tus(store, app.state.uploader, timedelta(hours=settings.tus_expiration_hours))


def _start_background(app: FastAPI, settings: Settings, core: Any) -> list[asyncio.Task[Any]]:
    tasks: list[asyncio.Task[Any]] = []
    for n in range(settings.saga_workers):
        tasks.append(asyncio.create_task(app.state.saga_worker.run(), name=f"saga-worker-{n}"))
    deliverer = OutboxDeliverer(
        core.sessions, core.http, app.state.tokens, settings.admin_url, registry=app.state.metrics.registry
    )
    app.state.outbox = deliverer
    tasks.append(asyncio.create_task(deliverer.run(), name="audit-outbox"))
    tasks.append(
        asyncio.create_task(
            _every(settings.tus_cleanup_interval_seconds, app.state.tus.cleanup, "tus_cleanup"),
            name="tus-cleanup",
        )
    )
    return tasks
