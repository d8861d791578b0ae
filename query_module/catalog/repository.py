"""SQL of the catalog: applying feed pages, cursors, sweeps, and reading file records.

Everything here runs inside the caller's transaction (the feed runner's unit of work);
nothing commits.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from query_module.catalog.records import Copy, assemble, copy_state, normalize, parse_time, search_text
from query_module.models import catalog_copies, catalog_file_tags, catalog_files, feed_cursors
from shared.db import insert_on_conflict


@dataclass
class Cursor:
    se_id: str
    feed_epoch: str | None
    last_seq: int
    mode: str | None
    pass_id: str | None
    sweep_pending: bool


def lock_key(se_id: str) -> int:
    """A stable signed 64-bit advisory-lock key per SE (one feed runner across replicas)."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, f"artstore-query-feed:{se_id}").int
    return (digest & 0x7FFF_FFFF_FFFF_FFFF) - (1 << 62)


async def try_lock_feed(session: AsyncSession, se_id: str) -> bool:
    return bool(await session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(lock_key(se_id)))))


_NEW_CURSOR = insert_on_conflict(feed_cursors, ("se_id", "last_seq", "updated_at"), conflict=("se_id",))


async def load_cursor(session: AsyncSession, se_id: str) -> Cursor:
    row = (await session.execute(sa.select(feed_cursors).where(feed_cursors.c.se_id == se_id))).first()
    if row is None:
        await session.execute(_NEW_CURSOR, {"se_id": se_id, "last_seq": 0, "updated_at": datetime.now(UTC)})
        return Cursor(se_id, None, 0, None, None, False)
    return Cursor(row.se_id, row.feed_epoch, row.last_seq, row.mode, row.pass_id, row.sweep_pending)


async def save_cursor(session: AsyncSession, cursor: Cursor) -> None:
    await session.execute(
        sa.update(feed_cursors)
        .where(feed_cursors.c.se_id == cursor.se_id)
        .values(
            feed_epoch=cursor.feed_epoch,
            last_seq=cursor.last_seq,
            mode=cursor.mode,
            pass_id=cursor.pass_id,
            sweep_pending=cursor.sweep_pending,
            updated_at=datetime.now(UTC),
        )
    )


async def reset_cursors(session: AsyncSession, se_id: str | None = None) -> int:
    """Full rebuild: every (or one) SE is re-read from 0 and swept at the end."""
    stmt = sa.update(feed_cursors).values(feed_epoch=None, last_seq=0, updated_at=datetime.now(UTC))
    if se_id is not None:
        stmt = stmt.where(feed_cursors.c.se_id == se_id)
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def list_cursors(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(sa.select(feed_cursors).order_by(feed_cursors.c.se_id))).mappings()
    return [dict(r) for r in rows]


@functools.cache
def _upsert(table: sa.Table, columns: tuple[str, ...], key: tuple[str, ...]) -> sa.TextClause:
    """Insert or replace by ``key``, compiled once per column set (shared.db.insert_on_conflict),
    executed for a whole page at once (executemany)."""
    return insert_on_conflict(table, columns, conflict=key, update=tuple(c for c in columns if c not in key))


def copy_row(se_id: str, mode: str, pass_id: str, record: dict[str, Any]) -> dict[str, Any]:
    attributes = normalize(record)
    return {
        "file_id": attributes["file_id"],
        "se_id": se_id,
        "state": copy_state(record, se_id),
        "se_mode": mode,
        "revision": attributes["revision"],
        "updated_at": parse_time(attributes.get("updated_at")),
        "pass_id": pass_id,
        "record": attributes,
    }


async def upsert_copies(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One statement for many copies (each ``(file_id, se_id)`` at most once)."""
    if not rows:
        return
    await session.execute(_upsert(catalog_copies, tuple(rows[0]), ("file_id", "se_id")), rows)


async def upsert_copy(
    session: AsyncSession, se_id: str, mode: str, pass_id: str, record: dict[str, Any]
) -> str:
    row = copy_row(se_id, mode, pass_id, record)
    await upsert_copies(session, [row])
    return str(row["file_id"])


async def delete_copy(session: AsyncSession, se_id: str, file_id: str) -> None:
    await session.execute(
        sa.delete(catalog_copies).where(catalog_copies.c.file_id == file_id, catalog_copies.c.se_id == se_id)
    )


async def copied_elsewhere(session: AsyncSession, se_id: str, file_ids: Iterable[str]) -> set[str]:
    """Those of ``file_ids`` that have a copy on an SE other than ``se_id``."""
    c = catalog_copies.c
    rows = await session.scalars(
        sa.select(c.file_id).distinct().where(c.file_id.in_(sorted(set(file_ids))), c.se_id != se_id)
    )
    return {str(r) for r in rows}


async def set_mode(session: AsyncSession, se_id: str, mode: str) -> None:
    """A ``mode`` change marks every copy on the SE (``ar`` makes them archived)."""
    await session.execute(
        sa.update(catalog_copies)
        .where(catalog_copies.c.se_id == se_id, catalog_copies.c.se_mode != mode)
        .values(se_mode=mode)
    )


async def sweep(session: AsyncSession, se_id: str, pass_id: str) -> list[str]:
    """Remove the SE's copies that the current pass did not see again."""
    result = await session.execute(
        sa.delete(catalog_copies)
        .where(catalog_copies.c.se_id == se_id, catalog_copies.c.pass_id != pass_id)
        .returning(catalog_copies.c.file_id)
    )
    return [str(r[0]) for r in result]


async def refresh_files(session: AsyncSession, file_ids: Iterable[str]) -> None:
    """Recompute the file rows of ``file_ids`` from their copies (the winner's attributes)."""
    ids = sorted(set(file_ids))
    if not ids:
        return
    c = catalog_copies.c
    winners = (
        await session.execute(
            sa.select(c.file_id, c.record)
            .where(c.file_id.in_(ids))
            .distinct(c.file_id)
            .order_by(c.file_id, c.revision.desc(), c.updated_at.desc(), c.se_id.desc())
        )
    ).all()
    present = {str(r.file_id) for r in winners}
    gone = [i for i in ids if i not in present]
    await session.execute(sa.delete(catalog_file_tags).where(catalog_file_tags.c.file_id.in_(ids)))
    if gone:
        await session.execute(sa.delete(catalog_files).where(catalog_files.c.file_id.in_(gone)))
    rows = [_file_row(r.record) for r in winners]
    if rows:
        await session.execute(_upsert(catalog_files, tuple(rows[0]), ("file_id",)), rows)
        tags = {(row["file_id"], tag) for row in rows for tag in row["tags"]}
        if tags:
            await session.execute(
                sa.insert(catalog_file_tags), [{"file_id": f, "tag": t} for f, t in sorted(tags)]
            )


def _file_row(attributes: dict[str, Any]) -> dict[str, Any]:
    tags_text, metadata_text = search_text(attributes)
    owner = attributes["owner"]
    return {
        "file_id": attributes["file_id"],
        "original_filename": attributes["original_filename"],
        "content_type": attributes["content_type"],
        "size": attributes["size"],
        "sha256": attributes["sha256"],
        "owner_id": owner["id"],
        "owner_username": owner["username"],
        "description": attributes["description"],
        "tags": attributes["tags"],
        "tags_text": tags_text,
        "metadata": attributes["metadata"],
        "metadata_text": metadata_text,
        "retention_policy": attributes["retention_policy"],
        "revision": attributes["revision"],
        "created_at": parse_time(attributes.get("created_at")),
        "updated_at": parse_time(attributes.get("updated_at")),
        "record": attributes,
    }


async def copies_of(session: AsyncSession, file_ids: Sequence[str]) -> dict[str, list[Copy]]:
    c = catalog_copies.c
    rows = (
        await session.execute(
            sa.select(c.file_id, c.se_id, c.state, c.se_mode, c.revision, c.updated_at).where(
                c.file_id.in_(list(file_ids))
            )
        )
    ).all()
    out: dict[str, list[Copy]] = {}
    for r in rows:
        out.setdefault(str(r.file_id), []).append(Copy(r.se_id, r.state, r.se_mode, r.revision, r.updated_at))
    return out


async def records(session: AsyncSession, attributes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """File records for winner attributes (as stored in ``catalog_files.record``)."""
    copies = await copies_of(session, [a["file_id"] for a in attributes])
    return [assemble(a, copies.get(a["file_id"], [])) for a in attributes]


async def get_record(session: AsyncSession, file_id: str) -> dict[str, Any] | None:
    attributes = await session.scalar(
        sa.select(catalog_files.c.record).where(catalog_files.c.file_id == file_id)
    )
    if attributes is None:
        return None
    return (await records(session, [attributes]))[0]
