"""``create_app(settings)``: the query module as an ASGI app.

Every resource is opened in the lifespan and closed on the way out (STYLE.md habit 7):
the core resources (database, Redis, HTTP, token verifier), then discovery, the service
token, the metadata cache, the change-feed runners and their Redis listener, the download
storage (a client without retries, so a dead SE fails over at once) and the audit outbox.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from query_module.cache.cache import MetadataCache
from query_module.catalog.feed import FeedManager, FeedRunner, Notifications
from query_module.catalog.router import router as catalog_router
from query_module.downloads.breaker import CircuitBreaker
from query_module.downloads.router import router as downloads_router
from query_module.downloads.service import Storage
from query_module.metrics import QueryMetrics
from query_module.search.router import router as search_router
from query_module.settings import Settings
from query_module.stats.router import router as stats_router
from shared.app import CoreResources, build_app, core_resources
from shared.coordination import fleet_member
from shared.http import create_data_session
from shared.outbox import OutboxDeliverer
from shared.service_token import ServiceTokenProvider
from shared.tasks import cancel_and_wait
from shared.version import __version__

SERVICE = "query_module"
MIGRATIONS = Path(__file__).parent / "migrations"


def _feeds(app: FastAPI, settings: Settings, core: CoreResources, cache: MetadataCache) -> FeedManager:
    def make_runner(se_id: str) -> FeedRunner:
        return FeedRunner(
            se_id,
            sessions=core.sessions,
            http=core.http,
            tokens=app.state.tokens,
            discovery=app.state.discovery,
            cache=cache,
            page_size=settings.feed_page_size,
            poll_interval=settings.feed_poll_interval_seconds,
            gather=settings.feed_gather_seconds,
            metrics=app.state.query_metrics,
        )

    return FeedManager(app.state.discovery, make_runner, interval=settings.feed_discovery_interval_seconds)


def _feeds_check(app: FastAPI, settings: Settings) -> Callable[[], Awaitable[None]]:
    """Readiness: degraded (never failed) while an SE's feed has not been read to the end
    for a while; search keeps answering from the catalog meanwhile."""
    started = time.time()
    stale_after = 3 * settings.feed_poll_interval_seconds + 30

    async def check() -> None:
        now = time.time()
        stale = [
            se.id
            for se in app.state.discovery.all()
            if now - app.state.query_metrics.last_success.get(se.id, started) > stale_after
        ]
        if stale:
            raise RuntimeError(f"change feeds not read recently: {', '.join(sorted(stale))}")

    return check


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
                app.state.tokens,
                kind=SERVICE,
                static_storage_elements=settings.storage_elements,
                discover=True,
            ) as discovery:
                app.state.discovery = discovery
                app.state.query_metrics = QueryMetrics(app.state.metrics.registry)
                cache = app.state.cache = MetadataCache(
                    core.redis,
                    max_entries=settings.cache_max_entries,
                    ttl=settings.cache_ttl_seconds,
                    redis_ttl=settings.cache_redis_ttl_seconds,
                )
                feeds = app.state.feeds = _feeds(app, settings, core, cache)
                se_client = create_data_session(
                    connect_timeout=settings.http_connect_timeout, read_timeout=settings.http_read_timeout
                )
                app.state.storage = Storage(
                    app.state.discovery,
                    se_client,
                    app.state.tokens,
                    CircuitBreaker(
                        threshold=settings.breaker_failures, reset_after=settings.breaker_reset_seconds
                    ),
                    chunk_bytes=settings.download_chunk_bytes,
                    retry_after=settings.retry_after_seconds,
                    on_stale=feeds.wake,
                    catch_up=feeds.catch_up,
                    metrics=app.state.query_metrics,
                )
                app.state.health.add("feeds", _feeds_check(app, settings), required=False)
                app.state.outbox = OutboxDeliverer(
                    core.sessions,
                    core.http,
                    app.state.tokens,
                    settings.admin_url,
                    registry=app.state.metrics.registry,
                )
                tasks = [
                    asyncio.create_task(feeds.run(), name="feeds"),
                    asyncio.create_task(app.state.outbox.run(), name="outbox"),
                ]
                listener = Notifications(core.redis, feeds, cache) if core.redis is not None else None
                if listener is not None:
                    tasks.append(asyncio.create_task(listener.run(), name="notifications"))
                try:
                    yield
                finally:
                    if listener is not None:
                        listener.stop()
                    await cancel_and_wait(tasks, within=5.0)
                    await feeds.aclose()
                    await se_client.close()

    app = build_app(
        settings, service=SERVICE, title="ArtStore query module", version=__version__, lifespan=lifespan
    )
    for router in (search_router, catalog_router, downloads_router, stats_router):
        app.include_router(router)
    return app
