"""Async database engine, session factory and the unit of work.

Services never call ``commit()``: the unit-of-work dependency commits when the request
handler returns and rolls back when it raises (STYLE.md habit 4). Background jobs use
:func:`unit_of_work` the same way.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(request.app.state.sessions) as session:
        yield session


# scope="function": the unit of work commits before the response is sent, so a client never
# sees a 2xx for a change whose commit then failed (FastAPI's default scope for dependencies
# with yield is the whole request, which ends after the response went out).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def insert_on_conflict(
    table: sa.Table,
    columns: Sequence[str],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
) -> sa.TextClause:
    """``INSERT INTO table (columns) VALUES (:columns) ON CONFLICT (conflict) DO UPDATE SET
    each of update = EXCLUDED.it`` (``DO NOTHING`` when ``update`` is empty), built once.

    SQLAlchemy cannot cache the compiled SQL of ``postgresql.insert(...).on_conflict_*()``
    (its cache key is None), so every execution of one compiles it again; on the upload
    path that was the largest single cost in SQLAlchemy (docs/performance.md). A text
    statement whose parameters carry the columns' types is compiled once, and executes
    with one parameter dict or a list of them (executemany)."""
    for name in (*columns, *conflict, *update):
        if name not in table.c:
            raise ValueError(f"{table.name} has no column {name}")
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f":{c}" for c in columns)
    target = ", ".join(f'"{c}"' for c in conflict)
    action = (
        "DO UPDATE SET " + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in update) if update else "DO NOTHING"
    )
    # Every name is a column of ``table`` (checked above), never a value: values are bound.
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({values}) ON CONFLICT ({target}) {action}'  # noqa: S608
    return sa.text(sql).bindparams(*(sa.bindparam(c, type_=table.c[c].type) for c in columns))


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it is missing (for `make run` and tests)."""
    target = make_url(url)
    name = target.database
    if not name:
        raise ValueError("database URL names no database")
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    exists = text("SELECT 1 FROM pg_database WHERE datname = :n")
    try:
        async with admin.connect() as conn:
            if await conn.scalar(exists, {"n": name}):
                return
            try:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
            except DBAPIError:
                # Another replica starting at the same time created it first: that is fine.
                if not await conn.scalar(exists, {"n": name}):
                    raise
    finally:
        await admin.dispose()


def _alembic_config(url: str, script_location: Path) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Alembic's ``context`` is a process-wide proxy: two migrations in one process (several apps
# in one test, say) must not run in parallel threads. Across processes the advisory lock of
# shared.alembic_env serialises them.
_alembic_in_process = threading.Lock()


def _upgrade_sync(url: str, script_location: Path, revision: str) -> None:
    from alembic import command

    with _alembic_in_process:
        command.upgrade(_alembic_config(url, script_location), revision)  # type: ignore[arg-type]


def _downgrade_sync(url: str, script_location: Path, revision: str) -> None:
    from alembic import command

    with _alembic_in_process:
        command.downgrade(_alembic_config(url, script_location), revision)  # type: ignore[arg-type]


async def migrate(url: str, script_location: Path, revision: str = "head") -> None:
    """Run Alembic in a worker thread; each service's env.py drives its async engine.

    Replicas starting together are serialised by an advisory lock (``shared.alembic_env``):
    the first applies the chain, the others then find it applied."""
    import anyio

    await anyio.to_thread.run_sync(_upgrade_sync, url, script_location, revision)


async def downgrade(url: str, script_location: Path, revision: str = "base") -> None:
    import anyio

    await anyio.to_thread.run_sync(_downgrade_sync, url, script_location, revision)
