"""A real admin module and real storage elements, as processes, for coordination tests."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import ServiceProcess

FLEET = ("svc-admin", "svc-storage", "svc-ingester", "svc-query")


@dataclass
class Fleet:
    tmp: Path
    redis_url: str
    new_database: Callable[[], Awaitable[str]]
    secrets: dict[str, str] = field(default_factory=lambda: {n: secrets.token_urlsafe(24) for n in FLEET})
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    # One key-encryption key for the fleet: admin replicas (or restarts) on one database share it.
    kek: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    admin: ServiceProcess | None = None  # the admin the storage elements are pointed at
    admins: list[ServiceProcess] = field(default_factory=list)
    storage: dict[str, ServiceProcess] = field(default_factory=dict)

    async def start_admin(self, **overrides: str) -> ServiceProcess:
        return (await self.admin_process(**overrides)).start()

    async def admin_process(self, *, port: int | None = None, **overrides: str) -> ServiceProcess:
        """An admin module, not yet started (``.start()``); settings in ``overrides`` win."""
        settings = {
            "database_url": await self.new_database(),
            "redis_url": self.redis_url,
            "bootstrap_password": self.admin_password,
            "key_encryption_key": self.kek,
            "fleet_secrets": json.dumps(self.secrets),
            "bcrypt_rounds": "4",
            "health_poll_seconds": "1",
            "registry_republish_seconds": "2",
            "heartbeat_seconds": "1",
            **overrides,
        }
        log_path = self.tmp / f"admin-{len(self.admins)}.log"
        process = ServiceProcess("admin_module", "ARTSTORE_ADMIN_", settings, log_path=log_path, port=port)
        # Replicas share one issuer: pass the first one's URL as ``jwt_issuer``.
        process.env.setdefault("ARTSTORE_ADMIN_JWT_ISSUER", process.url)
        process.env["ARTSTORE_ADMIN_ADMIN_URL"] = process.url
        self.admin = process
        self.admins.append(process)
        return process

    async def start_storage(
        self, se_id: str, mode: str, *, priority: int = 10, **overrides: str
    ) -> ServiceProcess:
        assert self.admin is not None
        root = self.tmp / se_id
        settings = {
            "se_id": se_id,
            "name": f"SE {se_id}",
            "initial_mode": mode,
            "priority": str(priority),
            "root": str(root / "data"),
            "state_dir": str(root / "state"),
            "database_url": await self.new_database(),
            "redis_url": self.redis_url,
            "admin_url": self.admin.url,
            "jwt_issuer": self.admin.env["ARTSTORE_ADMIN_JWT_ISSUER"],
            "service_client_secret": self.secrets["svc-storage"],
            **overrides,
        }
        process = ServiceProcess(
            "storage_element", "ARTSTORE_STORAGE_", settings, log_path=self.tmp / f"{se_id}.log"
        )
        self.storage[se_id] = process.start()
        return process

    def token(self, grant: dict[str, str], auth: tuple[str, str] | None = None) -> str:
        assert self.admin is not None
        response = httpx.post(f"{self.admin.url}/api/v1/auth/token", data=grant, auth=auth, timeout=30)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def admin_headers(self) -> dict[str, str]:
        token = self.token({"grant_type": "password", "username": "admin", "password": self.admin_password})
        return {"Authorization": f"Bearer {token}"}

    def service_headers(self, client_id: str) -> dict[str, str]:
        token = self.token({"grant_type": "client_credentials"}, auth=(client_id, self.secrets[client_id]))
        return {"Authorization": f"Bearer {token}"}

    def put_file(self, se_id: str, file_id: str, data: bytes) -> dict[str, Any]:
        """A permanent file stored on the SE directly, as the ingester stores it."""
        attributes = {"original_filename": f"{file_id}.bin", "retention": {"policy": "permanent"}}
        encoded = base64.urlsafe_b64encode(json.dumps(attributes).encode()).decode().rstrip("=")
        response = httpx.put(
            f"{self.storage[se_id].url}/api/v1/files/{file_id}",
            content=data,
            headers={
                **self.service_headers("svc-ingester"),
                "Content-Type": "application/octet-stream",
                "X-ArtStore-Attributes": encoded,
            },
            timeout=30,
        )
        assert response.status_code == 201, response.text
        record: dict[str, Any] = response.json()
        return record

    def stop(self) -> None:
        for process in [*self.storage.values(), *self.admins]:
            process.kill()


@pytest.fixture
async def fleet(
    tmp_path: Path, redis_url: str, new_database: Callable[[], Awaitable[str]]
) -> AsyncIterator[Fleet]:
    running = Fleet(tmp_path, redis_url, new_database)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
