"""Fixtures of the storage element tests: an SE app in-process on real Postgres/Redis."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from storage_element.app import create_app
from storage_element.settings import Settings
from storage_element.storage.backends.base import Backend
from storage_element.storage.store import Store
from tests.support import servers
from tests.support.tokens import ISSUER, TestKeys

INGESTER_SCOPES = "files:read files:write files:write-on-behalf files:delete files:relocate"


def attributes(**attrs: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(attrs).encode()).decode().rstrip("=")


@dataclass
class SE:
    app: FastAPI
    client: httpx.AsyncClient
    keys: TestKeys
    settings: Settings

    @property
    def store(self) -> Store:
        store: Store = self.app.state.store
        return store

    def auth(self, scopes: str = INGESTER_SCOPES, name: str = "svc-ingester") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.service(name, scopes)}"}

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.user('OPERATOR', 'olga')}"}

    async def put(
        self, file_id: str, data: bytes, *, headers: dict[str, str] | None = None, **attrs: Any
    ) -> httpx.Response:
        attrs.setdefault("original_filename", f"{file_id}.txt")
        h = {**self.auth(), "X-ArtStore-Attributes": attributes(**attrs), "Content-Type": "text/plain"}
        h.update(headers or {})
        return await self.client.put(f"/api/v1/files/{file_id}", content=data, headers=h)

    async def changes(self, after: int = 0) -> dict[str, Any]:
        r = await self.client.get(
            f"/api/v1/changes?after={after}&limit=1000", headers=self.auth("feed:read", "svc-query")
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


SEFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[servers.Managed]:
    with servers.managed(servers.start_seaweedfs) as server:
        yield server


@pytest.fixture
def se_settings(database_url: str, redis_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": database_url,
            "redis_url": redis_url,
            "admin_url": "http://127.0.0.1:9",
            "http_retries": 0,
            "jwt_issuer": ISSUER,
            "jwks_min_refresh_seconds": 0,
            "se_id": "se-test-1",
            "root": tmp_path / "data",
            "state_dir": tmp_path / "state",
            "initial_mode": "rw",
            "retention_interval_seconds": 3600,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def start_se(se_settings: Callable[..., Settings], keys: TestKeys) -> Callable[..., Any]:
    @asynccontextmanager
    async def start(
        settings: Settings | None = None, *, backend_impl: Backend | None = None, **overrides: Any
    ) -> AsyncIterator[SE]:
        settings = settings or se_settings(**overrides)
        app = create_app(settings, backend=backend_impl)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            app.state.verifier.source = keys
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://se") as client:
                yield SE(app, client, keys, settings)

    return start


@pytest.fixture
async def se(start_se: Callable[..., Any]) -> AsyncIterator[SE]:
    async with start_se() as running:
        yield running
