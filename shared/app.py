"""What every service's ``create_app`` has in common.

:func:`build_app` makes the FastAPI object with the same middleware, error handlers,
health, metrics and tracing everywhere. :func:`core_resources` is the common part of a
lifespan: database (created and migrated), Redis (optional), the outgoing HTTP client and
the token verifier, each registered with readiness and closed on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.responses import Response
from starlette.types import Lifespan

from shared import health
from shared.auth import HttpJwksSource, TokenVerifier
from shared.db import create_engine, ensure_database, migrate, session_factory
from shared.errors import UnhandledErrorMiddleware, install_error_handlers
from shared.http import create_http_client
from shared.logging import configure_logging
from shared.middleware import Metrics, MetricsMiddleware, RequestIdMiddleware
from shared.redis_client import create_redis
from shared.settings import ServiceSettings
from shared.tracing import instrument_app

log = logging.getLogger("artstore.app")


def build_app(
    settings: ServiceSettings, *, service: str, title: str, version: str, lifespan: Lifespan[FastAPI]
) -> FastAPI:
    configure_logging(service, settings.log_level)
    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.settings = settings
    app.state.service = service
    app.state.health = health.HealthRegistry()
    app.state.metrics = Metrics(service)
    install_error_handlers(app)
    app.add_middleware(UnhandledErrorMiddleware)  # added first, so innermost: 500s get CORS too
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "X-Request-ID",
                "ETag",
                "Content-Disposition",
                "Location",
                "Upload-Offset",
                "Upload-Length",
                "Tus-Resumable",
                "ArtStore-File-Id",
            ],
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    instrument_app(app, service)
    return app


@dataclass
class CoreResources:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None
    http: httpx.AsyncClient
    verifier: TokenVerifier


@asynccontextmanager
async def core_resources(
    app: FastAPI,
    settings: ServiceSettings,
    *,
    migrations: Path | None,
    jwks_source: Any | None = None,
) -> AsyncIterator[CoreResources]:
    """Open the resources every service needs and put them on ``app.state``."""
    log.info("starting", extra={"settings": settings.summary()})
    if settings.migrate_on_start and migrations is not None:
        await ensure_database(settings.database_url)
        await migrate(settings.database_url, migrations)
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    redis = create_redis(settings.redis_url)
    http = create_http_client(
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        retries=settings.http_retries,
    )
    verifier = TokenVerifier(
        jwks_source or HttpJwksSource(settings.admin_url, http),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway=settings.jwt_leeway_seconds,
        min_refresh_interval=settings.jwks_min_refresh_seconds,
        redis=redis,
    )
    await verifier.load()
    resources = CoreResources(engine, session_factory(engine), redis, http, verifier)
    app.state.engine, app.state.sessions = engine, resources.sessions
    app.state.redis, app.state.http, app.state.verifier = redis, http, verifier

    async def check_postgres() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    app.state.health.add("postgres", check_postgres)
    if redis is not None:
        redis_client = redis

        async def check_redis() -> None:
            await redis_client.ping()

        app.state.health.add("redis", check_redis, required=False)
    try:
        yield resources
    finally:
        await http.aclose()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()
        log.info("stopped")
