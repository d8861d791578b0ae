"""The ingester against real storage elements (processes), a fake admin and real Postgres.

Storage elements run as real ``python -m storage_element`` processes, each with its own
database and directories; the admin module is the fake of ``tests/support/fake_admin.py``
(JWKS, client credentials, audit events: protocols we own). The ingester runs in-process
(``ingester_app``) or as a real process (``start_ingester``) for memory and crash tests.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import make_url

from ingester_module.app import create_app
from ingester_module.settings import Settings
from tests.support.fake_admin import FakeAdmin
from tests.support.processes import ServiceProcess
from tests.support.tokens import ISSUER, TestKeys

SECRET = "Ingester-Test-Credential-7f3a9c"


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


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    """One signing key for the session: the shared storage elements trust it."""
    return TestKeys()


@pytest.fixture(scope="session")
def fake_admin(keys: TestKeys) -> Iterator[FakeAdmin]:
    with FakeAdmin(keys) as admin:
        yield admin


@dataclass
class SE:
    id: str
    mode: str
    priority: int
    process: ServiceProcess
    root: Path

    @property
    def url(self) -> str:
        return self.process.url

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.id, "url": self.url, "mode": self.mode, "priority": self.priority}


class Fleet:
    """Storage elements started for one test, stopped at its end."""

    def __init__(
        self, postgres_server: str, admin: FakeAdmin, tmp: Path, shared: list[SE] | None = None
    ) -> None:
        self.postgres_server = postgres_server
        self.admin = admin
        self.tmp = tmp
        self.shared = shared or []
        self.ses: list[SE] = []
        self.ingesters: list[ServiceProcess] = []

    def se(self, se_id: str) -> SE:
        return next(se for se in self.shared + self.ses if se.id == se_id)

    @property
    def discovered(self) -> list[SE]:
        """What the ingester is told: this test's own SEs if it started any, else the shared ones."""
        return self.ses or self.shared

    async def start_ses(self, *specs: tuple[str, str, int, int]) -> list[SE]:
        """Start several SEs at once ((id, mode, priority, quota) each); they boot in parallel."""
        ses = [await self.start_se(i, m, priority=p, quota=q, wait=False) for i, m, p, q in specs]
        for se in ses:
            se.process.wait_live()
        return ses

    async def start_se(
        self, se_id: str, mode: str, *, priority: int = 100, quota: int = 0, wait: bool = True
    ) -> SE:
        base = self.tmp / se_id
        settings = {
            "database_url": await new_database(self.postgres_server),
            "admin_url": self.admin.url,
            "jwt_issuer": ISSUER,
            "se_id": se_id,
            "initial_mode": mode,
            "priority": str(priority),
            "root": str(base / "data"),
            "state_dir": str(base / "state"),
            "quota_bytes": str(quota),
            "fsync": "false",
            "http_retries": "0",
        }
        process = ServiceProcess(
            "storage_element", "ARTSTORE_STORAGE_", settings, log_path=self.tmp / f"{se_id}.log"
        )
        process.start(wait=wait)
        se = SE(se_id, mode, priority, process, base / "data")
        self.ses.append(se)
        return se

    def ingester_settings(self, database_url: str, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "database_url": database_url,
            "admin_url": self.admin.url,
            "jwt_issuer": ISSUER,
            "service_client_secret": SECRET,
            "storage_elements": [se.info() for se in self.discovered],
            "staging_dir": str(self.tmp / "staging"),
            "http_retries": 0,
            "saga_worker_interval_seconds": 0.2,
            "saga_backoff_base_seconds": 0.2,
            "saga_backoff_max_seconds": 1.0,
            "saga_max_attempts": 3,
            "saga_lease_seconds": 3.0,
            "breaker_reset_seconds": 60.0,
        }
        values.update(overrides)
        return values

    def start_ingester(self, database_url: str, **overrides: Any) -> ServiceProcess:
        values = self.ingester_settings(database_url, **overrides)
        env = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
        process = ServiceProcess(
            "ingester_module",
            "ARTSTORE_INGESTER_",
            env,
            log_path=self.tmp / f"ingester-{len(self.ingesters)}.log",
        )
        self.ingesters.append(process)
        return process.start()

    def stop(self) -> None:
        for process in self.ingesters:
            process.kill()
        for se in self.ses:
            se.process.kill()


@pytest.fixture(scope="session")
async def shared_ses(
    postgres_server: str, fake_admin: FakeAdmin, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[SE]]:
    """edit-1, rw-1 (preferred) and rw-2, started once: SE start-up dominates test time.

    Tests on them look only at their own files; tests that need special SEs (full,
    stopped) start their own with ``fleet.start_ses``.
    """
    fleet = Fleet(postgres_server, fake_admin, tmp_path_factory.mktemp("shared-ses"))
    ses = await fleet.start_ses(("edit-1", "edit", 10, 0), ("rw-1", "rw", 10, 0), ("rw-2", "rw", 20, 0))
    yield ses
    fleet.stop()


@pytest.fixture
def fleet(
    postgres_server: str, fake_admin: FakeAdmin, tmp_path: Path, shared_ses: list[SE]
) -> Iterator[Fleet]:
    fleet = Fleet(postgres_server, fake_admin, tmp_path, shared_ses)
    yield fleet
    fleet.stop()


def se_client(keys: TestKeys, se: SE) -> httpx.AsyncClient:
    """Talks to an SE directly as the ingester's service account (to check copies)."""
    token = keys.service(
        "svc-ingester", "files:read files:write files:write-on-behalf files:delete files:relocate"
    )
    return httpx.AsyncClient(base_url=se.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def count_on(keys: TestKeys, se: SE) -> int:
    async with se_client(keys, se) as client:
        response = await client.get("/api/v1/files", params={"limit": 1000})
    response.raise_for_status()
    return len(response.json()["items"])


async def copies_on(keys: TestKeys, se: SE, file_id: str) -> dict[str, Any] | None:
    async with se_client(keys, se) as client:
        response = await client.get(f"/api/v1/files/{file_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def second_copy(keys: TestKeys, source: SE, target: SE, file_id: str) -> None:
    """Put the file on ``target`` as a second committed copy, as replication would."""
    async with se_client(keys, source) as src, se_client(keys, target) as dst:
        record = (await src.get(f"/api/v1/files/{file_id}")).json()
        content = (await src.get(f"/api/v1/files/{file_id}/content")).content
        attrs = {k: record[k] for k in ("original_filename", "owner", "description", "tags", "metadata")}
        attrs["retention"] = {
            "policy": record["retention_policy"],
            "expires_at": record["expires_at"],
            "retain_until": record["retain_until"],
            "legal_hold": record["legal_hold"],
        }
        header = base64.urlsafe_b64encode(json.dumps(attrs).encode()).decode()
        put = await dst.put(
            f"/api/v1/files/{file_id}",
            content=content,
            headers={"X-ArtStore-Attributes": header, "Content-Type": record["content_type"]},
        )
        assert put.status_code == 201, put.text


IngesterFactory = Callable[..., Any]


@pytest.fixture
async def ingester(fleet: Fleet, database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """``async with ingester(**overrides) as (app, client)``: the ingester in-process."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
        settings = Settings(env="test", **fleet.ingester_settings(database_url, **overrides))
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://ingester", timeout=60
            ) as client:
                yield app, client

    yield run


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
