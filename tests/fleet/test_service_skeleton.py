"""Every service is built the same way: lifespan, health, metrics, errors, migrations."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import make_url

from shared.db import downgrade, migrate

SERVICES = ["admin_module", "storage_element", "ingester_module", "query_module"]


def settings_for(service: str, **values: Any) -> Any:
    module = importlib.import_module(f"{service}.settings")
    if service == "admin_module":
        # Outside development the admin refuses to start without a real key-encryption key.
        values.setdefault("key_encryption_key", "skeleton-test-kek-0123456789abcdef")
    if service in ("ingester_module", "query_module"):
        # A static SE list: with no admin module reachable, registry discovery would
        # (rightly) report readiness "degraded"; that case has its own coordination test.
        values.setdefault("storage_elements", [{"id": "se-1", "url": "http://127.0.0.1:9", "mode": "rw"}])
    if service == "query_module":
        values.setdefault("link_secret", "skeleton-test-link-0123456789abcdef")
    return module.Settings(env="test", **values)


def create_app(service: str, settings: Any) -> FastAPI:
    app: FastAPI = importlib.import_module(f"{service}.app").create_app(settings)
    return app


@pytest.fixture(params=SERVICES)
async def running(
    request: pytest.FixtureRequest, database_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    service: str = request.param
    settings = settings_for(
        service,
        database_url=database_url,
        redis_url=redis_url,
        admin_url="http://127.0.0.1:9",
        http_retries=0,
    )
    app = create_app(service, settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield service, client


async def test_live_and_ready(running: tuple[str, httpx.AsyncClient]) -> None:
    _, client = running
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ok"
    assert body["checks"]["postgres"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"


async def test_request_id_echoed_and_generated(running: tuple[str, httpx.AsyncClient]) -> None:
    _, client = running
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health/live", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32


async def test_unknown_route_is_problem_json(running: tuple[str, httpx.AsyncClient]) -> None:
    _, client = running
    response = await client.get("/no/such/route", headers={"X-Request-ID": "rid-1"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found" and response.json()["request_id"] == "rid-1"


async def test_metrics_count_by_route_template(running: tuple[str, httpx.AsyncClient]) -> None:
    service, client = running
    await client.get("/health/live")
    text = (await client.get("/metrics")).text
    assert "artstore_http_requests_total" in text
    assert f'route="/health/live",service="{service}",status="200"' in text


async def test_openapi_and_docs(running: tuple[str, httpx.AsyncClient]) -> None:
    _, client = running
    doc = (await client.get("/openapi.json")).json()
    assert "/health/ready" in doc["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_ready_fails_when_postgres_is_gone(database_url: str, redis_url: str) -> None:
    settings = settings_for(
        "query_module",
        database_url=database_url,
        redis_url=redis_url,
        admin_url="http://127.0.0.1:9",
        http_retries=0,
    )
    app = create_app("query_module", settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        await app.state.engine.dispose()
        url = make_url(database_url)
        admin = await asyncpg.connect(
            make_url(database_url).set(drivername="postgresql", database="postgres").render_as_string(False)
        )
        await admin.execute(f'ALTER DATABASE "{url.database}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", url.database
        )
        try:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["postgres"]["status"] == "fail"
        finally:
            await admin.execute(f'ALTER DATABASE "{url.database}" WITH ALLOW_CONNECTIONS true')
            await admin.close()


async def test_redis_down_is_degraded_not_failed(database_url: str, private_redis: Any) -> None:
    settings = settings_for(
        "query_module",
        database_url=database_url,
        redis_url=private_redis.url,
        admin_url="http://127.0.0.1:9",
        http_retries=0,
    )
    app = create_app("query_module", settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        private_redis.stop()
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"]["status"] == "degraded"


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_upgrade_and_downgrade(service: str, database_url: str) -> None:
    migrations = Path(importlib.import_module(f"{service}.app").__file__ or "").parent / "migrations"
    plain = make_url(database_url).set(drivername="postgresql").render_as_string(False)

    async def tables() -> set[str]:
        conn = await asyncpg.connect(plain)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        finally:
            await conn.close()
        return {r["tablename"] for r in rows}

    await migrate(database_url, migrations)
    upgraded = await tables()
    assert "alembic_version" in upgraded
    await downgrade(database_url, migrations, "base")
    assert await tables() <= {"alembic_version"}
    await migrate(database_url, migrations)
    assert await tables() == upgraded
