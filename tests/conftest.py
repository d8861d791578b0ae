"""Fixtures every test suite shares: real Postgres and Redis, fresh databases, test keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import make_url

from tests.support import servers
from tests.support.tokens import TestKeys


def _fail_or_raise(exc: Exception) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"a required test server is unavailable in CI: {exc}", pytrace=False)
    raise exc


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    try:
        server = servers.postgres()
    except Exception as exc:
        _fail_or_raise(exc)
        raise
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    try:
        server = servers.redis()
    except Exception as exc:
        _fail_or_raise(exc)
        raise
    yield server.url
    server.stop()


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def new_database(postgres_server: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """A factory of fresh, empty databases; all of them are dropped after the test."""
    names: list[str] = []

    async def create() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(_plain(f"{postgres_server}/postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        names.append(name)
        return f"{postgres_server}/{name}"

    yield create
    admin = await asyncpg.connect(_plain(f"{postgres_server}/postgres"))
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(new_database: Callable[[], Awaitable[str]]) -> str:
    """A fresh, empty database for one test, dropped afterwards."""
    return await new_database()


_redis_db = iter(range(1, 10**9))


@pytest.fixture
async def redis_url(redis_server: str) -> AsyncIterator[str]:
    """A Redis logical database of its own (1-15, flushed), on the shared server."""
    url = f"{redis_server}/{next(_redis_db) % 15 + 1}"
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    yield url


@pytest.fixture
def private_redis() -> Iterator[servers.Managed]:
    """A Redis of this test's own, for tests that stop it on purpose."""
    server = servers.start_redis()
    yield server
    server.stop()


@pytest.fixture
def keys() -> TestKeys:
    return TestKeys()
