"""An admin module running in-process against real Postgres, Redis and SMTP servers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import make_url

from admin_module.app import MIGRATIONS, create_app
from admin_module.settings import Settings
from shared.db import migrate
from tests.support.smtp import Mailbox, smtp_server
from tests.support.tokens import ISSUER

ADMIN_PASSWORD = "bootstrap-Admin-pass-1"
KEK = "kek-for-tests-5b0c1d8e9f7a6b5c4d3e2f1a"
FLEET_SECRETS = {  # at least 32 bytes, as outside development
    "svc-ingester": "ingester-fleet-3a9f2c1b7d6e5f4a9c8b7a6d",
    "svc-query": "query-fleet-8b7c6d5e4f3a2b1c0d9e8f7a6b",
}


def admin_settings(database_url: str, redis_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_issuer": ISSUER,
        "key_encryption_key": KEK,
        "bcrypt_rounds": 4,
        "bootstrap_password": ADMIN_PASSWORD,
        "fleet_secrets": FLEET_SECRETS,
        "jwks_min_refresh_seconds": 0,
        "http_retries": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Admin:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    async def login(self, username: str, password: str, **extra: str) -> httpx.Response:
        data = {"grant_type": "password", "username": username, "password": password, **extra}
        return await self.client.post("/api/v1/auth/token", data=data)

    async def token(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        response = await self.login(username, password)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def headers(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username, password)}"}

    async def create_user(
        self, username: str, password: str, role: str = "USER", **extra: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/users",
            json={"username": username, "password": password, "role": role, **extra},
            headers=await self.headers(),
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


async def _admin_sql(postgres_server: str, statement: str) -> None:
    plain = make_url(f"{postgres_server}/postgres").set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(plain)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def _fresh_database(postgres_server: str, template: str | None = None) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _admin_sql(
        postgres_server, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    )
    try:
        yield f"{postgres_server}/{name}"
    finally:
        await _admin_sql(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def admin_template(postgres_server: str) -> AsyncIterator[str]:
    """A database migrated to head once per session; each test copies it (CREATE ... TEMPLATE)."""
    async with _fresh_database(postgres_server) as url:
        await migrate(url, MIGRATIONS)
        yield str(make_url(url).database)


@pytest.fixture
async def migrated_database_url(postgres_server: str, admin_template: str) -> AsyncIterator[str]:
    async with _fresh_database(postgres_server, admin_template) as url:
        yield url


@pytest.fixture
async def other_database_url(postgres_server: str) -> AsyncIterator[str]:
    """A second fresh database, for another service's tables (dropped afterwards)."""
    async with _fresh_database(postgres_server) as url:
        yield url


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def admin_overrides() -> dict[str, Any]:
    """Tests override settings by redefining this fixture or with ``@pytest.mark.parametrize``."""
    return {}


@asynccontextmanager
async def running_admin(settings: Settings) -> AsyncIterator[Admin]:
    app = create_app(settings)
    # Generous timeouts: the test machine is shared and at times heavily loaded.
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("10.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as client:
            yield Admin(app, client, settings)


@pytest.fixture
async def admin(
    migrated_database_url: str, redis_url: str, mailbox: Mailbox, admin_overrides: dict[str, Any]
) -> AsyncIterator[Admin]:
    """An admin on a database copied from the migrated template (migrations run once per session;
    the tests that start from an empty database use ``database_url`` and migrate at start)."""
    overrides = {
        "smtp_host": mailbox.host,
        "smtp_port": mailbox.port,
        "migrate_on_start": False,
        **admin_overrides,
    }
    async with running_admin(admin_settings(migrated_database_url, redis_url, **overrides)) as running:
        yield running
