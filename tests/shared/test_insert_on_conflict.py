"""shared.db.insert_on_conflict: the upsert the hot paths use, on a real Postgres."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert

from shared.db import create_engine, insert_on_conflict, session_factory, unit_of_work

metadata = sa.MetaData()
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("doc", JSONB, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text),
)


async def test_upsert_inserts_updates_and_runs_as_executemany(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    upsert = insert_on_conflict(items, ("id", "doc", "at"), conflict=("id",), update=("doc", "at"))
    keep = insert_on_conflict(items, ("id", "doc", "at"), conflict=("id",))
    sessions = session_factory(engine)
    t0, t1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    async with unit_of_work(sessions) as session:
        await session.execute(
            sa.insert(items), [{"id": "a", "doc": {"v": 0}, "at": t0, "note": "kept by the update"}]
        )
        # one row, then a list of rows (one of them twice: the later one wins, row by row)
        await session.execute(upsert, {"id": "a", "doc": {"v": 1}, "at": t1})
        await session.execute(
            upsert, [{"id": "b", "doc": {"v": 2}, "at": t0}, {"id": "b", "doc": {"v": 3}, "at": t1}]
        )
        await session.execute(
            keep, [{"id": "a", "doc": {"v": 99}, "at": t0}, {"id": "c", "doc": {}, "at": t0}]
        )
    async with sessions() as session:
        rows = {r.id: r for r in (await session.execute(sa.select(items))).all()}
    await engine.dispose()
    assert rows["a"].doc == {"v": 1} and rows["a"].at == t1 and rows["a"].note == "kept by the update"
    assert rows["b"].doc == {"v": 3} and rows["b"].at == t1
    assert rows["c"].doc == {} and set(rows) == {"a", "b", "c"}


def test_compiled_once_unlike_the_dialect_insert() -> None:
    # The reason it exists: SQLAlchemy gives postgresql.insert(...).on_conflict_*() no cache
    # key, so it compiles on every execution; the text statement has one.
    dialect_upsert = insert(items).values(id="x", doc={}, at=datetime.now(UTC)).on_conflict_do_nothing()
    assert dialect_upsert._generate_cache_key() is None
    ours = insert_on_conflict(items, ("id", "doc", "at"), conflict=("id",))
    assert ours._generate_cache_key() is not None


def test_unknown_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="no column nope"):
        insert_on_conflict(items, ("id", "nope"), conflict=("id",))
    with pytest.raises(ValueError, match="no column nope"):
        insert_on_conflict(items, ("id",), conflict=("id",), update=("nope",))
