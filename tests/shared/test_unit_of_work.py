"""The unit of work commits before the response: a failed commit is never a 2xx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.db import SessionDep, create_engine, session_factory
from shared.errors import install_error_handlers


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE item (id int, CONSTRAINT item_unique UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    app = FastAPI()
    install_error_handlers(app)
    app.state.sessions = session_factory(engine)

    @app.post("/items/{item_id}")
    async def add(item_id: int, session: SessionDep) -> dict[str, int]:
        await session.execute(text("INSERT INTO item VALUES (:id)"), {"id": item_id})
        return {"id": item_id}

    @app.post("/items/{item_id}/fail")
    async def add_then_fail(item_id: int, session: SessionDep) -> dict[str, int]:
        await session.execute(text("INSERT INTO item VALUES (:id)"), {"id": item_id})
        raise RuntimeError("boom after the insert")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
    await engine.dispose()


async def count(client: httpx.AsyncClient, database_url: str) -> int:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        value = int((await conn.execute(text("SELECT count(*) FROM item"))).scalar_one())
    await engine.dispose()
    return value


async def test_commit_on_success(client: httpx.AsyncClient, database_url: str) -> None:
    assert (await client.post("/items/1")).status_code == 200
    assert await count(client, database_url) == 1


async def test_failed_commit_is_not_acknowledged(client: httpx.AsyncClient, database_url: str) -> None:
    assert (await client.post("/items/1")).status_code == 200
    # The duplicate is only detected at COMMIT (deferred constraint): the client must not see 200.
    response = await client.post("/items/1")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert await count(client, database_url) == 1


async def test_rollback_on_error(client: httpx.AsyncClient, database_url: str) -> None:
    assert (await client.post("/items/2/fail")).status_code == 500
    assert await count(client, database_url) == 0
