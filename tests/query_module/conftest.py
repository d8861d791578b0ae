"""Fixtures of the query module tests.

* ``query``: the query module in-process (``async with query(...) as q``) on real
  Postgres and Redis, its verifier trusting the test keys, its service token from the
  fake admin; ``http=True`` serves it with uvicorn on a real port (downloads that must
  be aborted mid-body need a real connection).
* :class:`Feed`: a scripted page source for :func:`query_module.catalog.service.pull_once`
  (the catalog's own apply function), to test the catalog and search without an SE.
* ``fleet``: real storage elements (``python -m storage_element``) and the ingester
  in-process, for the feed, download and end-to-end tests.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import make_url

from query_module.app import create_app
from query_module.catalog.service import pull_once
from query_module.settings import Settings
from shared.db import unit_of_work
from tests.support.fake_admin import FakeAdmin
from tests.support.processes import ServiceProcess
from tests.support.servers import free_port
from tests.support.tokens import ISSUER, TestKeys
from tests.support.waiting import eventually

LINK_SECRET = "Query-Link-Test-Key-9d41c7e2"
SERVICE_SECRET = "Query-Service-Credential-5b2e"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def new_database(postgres_server: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(plain(f"{postgres_server}/postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{postgres_server}/{name}"


async def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(plain(make_url(url).set(database="postgres").render_as_string(False)))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# ------------------------------------------------------------------ scripted feed pages


def make_record(
    *,
    file_id: str | None = None,
    name: str = "file.txt",
    owner: str = "alice",
    size: int = 10,
    content_type: str = "text/plain",
    description: str = "",
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    retention_policy: str = "permanent",
    revision: int = 1,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
    state: str = "committed",
    se_id: str = "se-a",
) -> dict[str, Any]:
    """A record shaped as an SE's feed carries it (API.md file record of one copy)."""
    created = created_at or datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "file_id": file_id or str(uuid.uuid4()),
        "original_filename": name,
        "size": size,
        "content_type": content_type,
        "sha256": "0" * 64,
        "owner": {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, owner)), "username": owner, "kind": "user"},
        "description": description,
        "tags": tags or [],
        "metadata": metadata or {},
        "retention_policy": retention_policy,
        "expires_at": None,
        "retain_until": None,
        "legal_hold": False,
        "revision": revision,
        "created_at": created.isoformat(),
        "updated_at": (updated_at or created).isoformat(),
        "storage_element_id": se_id,
        "copies": [{"storage_element_id": se_id, "mode": "rw", "state": state}],
        "status": "available",
    }


@dataclass
class Feed:
    """The change feed of one SE as a list; ``fetch`` answers like ``GET /api/v1/changes``."""

    se_id: str
    epoch: str = field(default_factory=lambda: uuid.uuid4().hex)
    items: list[dict[str, Any]] = field(default_factory=list)

    def _next(self) -> int:
        return (self.items[-1]["seq"] if self.items else 0) + 1

    def upsert(self, record: dict[str, Any]) -> dict[str, Any]:
        self.items.append(
            {"seq": self._next(), "op": "upsert", "file_id": record["file_id"], "record": record}
        )
        return record

    def delete(self, file_id: str) -> None:
        self.items.append({"seq": self._next(), "op": "delete", "file_id": file_id, "record": None})

    def mode(self, mode: str) -> None:
        self.items.append({"seq": self._next(), "op": "mode", "file_id": None, "mode": mode})

    def reindex(self, records: list[dict[str, Any]]) -> None:
        """A rebuilt SE index: a new epoch whose feed holds one upsert per current file."""
        self.epoch = uuid.uuid4().hex
        self.items = []
        for record in records:
            self.upsert(record)

    async def fetch(self, after: int, limit: int = 50) -> dict[str, Any]:
        items = [i for i in self.items if i["seq"] > after][:limit]
        return {"feed_epoch": self.epoch, "items": items, "last_seq": self._next() - 1}


async def apply_feed(app: FastAPI, feed: Feed, *, page_size: int = 50) -> None:
    """Pull ``feed`` into the catalog through the catalog's own apply function."""
    while True:
        async with unit_of_work(app.state.sessions) as session:
            result = await pull_once(
                session,
                se_id=feed.se_id,
                fetch=lambda after: feed.fetch(after, page_size),
                page_size=page_size,
            )
        if result.all_changed:
            await app.state.cache.invalidate(None)
        elif result.changed:
            await app.state.cache.invalidate(result.changed)
        if result.caught_up:
            return


# ------------------------------------------------------------------ the query module


@pytest.fixture
def fake_admin(keys: TestKeys) -> Iterator[FakeAdmin]:
    with FakeAdmin(keys) as admin:
        yield admin


@dataclass
class Query:
    app: FastAPI
    client: httpx.AsyncClient
    url: str | None = None


QueryFactory = Callable[..., Any]


def query_settings(database_url: str, redis_url: str | None, admin_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "admin_url": admin_url,
        "jwt_issuer": ISSUER,
        "http_retries": 0,
        "link_secret": LINK_SECRET,
        "service_client_secret": SERVICE_SECRET,
        "feed_poll_interval_seconds": 30.0,
        "feed_discovery_interval_seconds": 0.5,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def query(database_url: str, redis_url: str, keys: TestKeys, fake_admin: FakeAdmin) -> QueryFactory:
    """``async with query(**settings) as q``: the query module, in-process or on a real port."""

    @asynccontextmanager
    async def run(*, http: bool = False, **overrides: Any) -> AsyncIterator[Query]:
        overrides.setdefault("database_url", database_url)
        overrides.setdefault("redis_url", redis_url)
        settings = query_settings(admin_url=fake_admin.url, **overrides)
        app = create_app(settings)
        if http:
            async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
                app.state.verifier.source = keys
                yield Query(app, client, url)
            return
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            app.state.verifier.source = keys
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://query", timeout=60) as client:
                yield Query(app, client)

    return run


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free local port, in this event loop."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _started(server, task), timeout=30, interval=0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()
        raise RuntimeError("uvicorn exited")
    return bool(server.started)


# ------------------------------------------------------------------ real storage elements


@dataclass
class SE:
    id: str
    mode: str
    process: ServiceProcess
    root: Path
    database_url: str

    @property
    def url(self) -> str:
        return self.process.url

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.id, "url": self.url, "mode": self.mode, "priority": 10}


class Fleet:
    """Storage elements (processes) and the ingester (in-process) for one test."""

    def __init__(
        self, postgres_server: str, redis_url: str, admin: FakeAdmin, keys: TestKeys, tmp: Path
    ) -> None:
        self.postgres_server = postgres_server
        self.redis_url = redis_url
        self.admin = admin
        self.keys = keys
        self.tmp = tmp
        self.ses: list[SE] = []

    async def start_ses(self, *specs: tuple[str, str], redis_url: str | None = "") -> list[SE]:
        ses = [await self._start_se(se_id, mode, redis_url) for se_id, mode in specs]
        for se in ses:
            se.process.wait_live()
        self.ses.extend(ses)
        return ses

    async def _start_se(self, se_id: str, mode: str, redis_url: str | None) -> SE:
        base = self.tmp / se_id
        database_url = await new_database(self.postgres_server)
        settings = {
            "database_url": database_url,
            "admin_url": self.admin.url,
            "jwt_issuer": ISSUER,
            "se_id": se_id,
            "initial_mode": mode,
            "root": str(base / "data"),
            "state_dir": str(base / "state"),
            "fsync": "false",
            "http_retries": "0",
            "log_level": "WARNING",
            "jwks_min_refresh_seconds": "0",
        }
        redis = self.redis_url if redis_url == "" else redis_url
        if redis:
            settings["redis_url"] = redis
        process = ServiceProcess(
            "storage_element", "ARTSTORE_STORAGE_", settings, log_path=self.tmp / f"{se_id}.log"
        )
        process.start(wait=False)
        return SE(se_id, mode, process, base / "data", database_url)

    def storage_elements(self) -> list[dict[str, Any]]:
        return [se.info() for se in self.ses]

    def se_client(self, se: SE) -> httpx.AsyncClient:
        token = self.keys.service("svc-admin", "files:read storage:read storage:admin feed:read")
        return httpx.AsyncClient(base_url=se.url, headers=bearer(token), timeout=30)

    @asynccontextmanager
    async def ingester(self, database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        from ingester_module.app import create_app as create_ingester
        from ingester_module.settings import Settings as IngesterSettings

        values: dict[str, Any] = {
            "env": "test",
            "database_url": database_url,
            "redis_url": self.redis_url,
            "admin_url": self.admin.url,
            "jwt_issuer": ISSUER,
            "service_client_secret": "Ingester-Test-Credential-7f3a9c",
            "storage_elements": self.storage_elements(),
            "staging_dir": str(self.tmp / "staging"),
            "http_retries": 0,
            "saga_worker_interval_seconds": 0.2,
            "saga_backoff_base_seconds": 0.2,
            "saga_backoff_max_seconds": 1.0,
            "log_level": "WARNING",
        }
        values.update(overrides)
        app = create_ingester(IngesterSettings(**values))
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            app.state.verifier.source = self.keys
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://ingester", timeout=60
            ) as client:
                yield client

    def stop(self) -> None:
        for se in self.ses:
            se.process.kill()


@pytest.fixture
def fleet(
    postgres_server: str, redis_url: str, fake_admin: FakeAdmin, keys: TestKeys, tmp_path: Path
) -> Iterator[Fleet]:
    fleet = Fleet(postgres_server, redis_url, fake_admin, keys, tmp_path)
    yield fleet
    fleet.stop()


async def upload(
    client: httpx.AsyncClient,
    token: str,
    data: bytes,
    *,
    filename: str,
    content_type: str = "application/octet-stream",
    **fields: Any,
) -> dict[str, Any]:
    """A raw-body upload through the ingester (``PUT /api/v1/files``)."""
    params: list[tuple[str, str]] = [("filename", filename)]
    for key, value in fields.items():
        if key == "tags":
            params += [("tags", t) for t in value]
        elif key == "metadata":
            params.append(("metadata", json.dumps(value)))
        else:
            params.append((key, str(value)))
    response = await client.put(
        "/api/v1/files", params=params, content=data, headers={**bearer(token), "Content-Type": content_type}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def days_ago(n: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=n)
