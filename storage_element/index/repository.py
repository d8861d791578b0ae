"""SQL of the index and the change feed. The caller's unit of work commits.

Feed sequence numbers come from the active generation's row, updated inside the writing
transaction: the row lock serialises committers, so ``seq`` is gapless and in commit
order, and a consumer that read ``after=N`` can never later see a smaller new ``seq``.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import insert_on_conflict
from storage_element.index.tables import changes, files, generations
from storage_element.storage.sidecar import Sidecar


@dataclass(frozen=True)
class Generation:
    generation: int
    feed_epoch: str
    last_seq: int


def _now() -> datetime:
    return datetime.now(UTC)


async def active(session: AsyncSession, *, lock: bool = False) -> Generation | None:
    query = sa.select(generations).where(generations.c.active)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None and lock:
        # A reindex swapped generations while we waited for the old row's lock: Postgres
        # re-checks only the row it waited for (no longer active), so look again; the
        # new statement's snapshot sees the generation swapped in.
        row = (await session.execute(query)).first()
    return None if row is None else Generation(row.generation, row.feed_epoch, row.last_seq)


async def create_generation(session: AsyncSession, *, active_now: bool) -> Generation:
    number = int(
        await session.scalar(sa.select(sa.func.coalesce(sa.func.max(generations.c.generation), 0))) or 0
    )
    gen = Generation(number + 1, uuid.uuid4().hex, 0)
    await session.execute(
        sa.insert(generations).values(
            generation=gen.generation,
            feed_epoch=gen.feed_epoch,
            last_seq=0,
            active=active_now,
            created_at=_now(),
        )
    )
    return gen


async def ensure_active(session: AsyncSession) -> tuple[Generation, bool]:
    """The active generation; ``created`` is True when the index was empty."""
    gen = await active(session)
    if gen is not None:
        return gen, False
    return await create_generation(session, active_now=True), True


def _row(generation: int, sc: Sidecar) -> dict[str, Any]:
    return {
        "generation": generation,
        "file_id": sc.file_id,
        "data_key": sc.path,
        "doc": sc.doc(),
        "original_filename": sc.original_filename,
        "description": sc.description,
        "tags_text": " ".join(sc.tags),
        "metadata": sc.metadata,
        "size": sc.size,
        "sha256": sc.sha256,
        "owner_id": sc.owner.id,
        "copy_state": sc.copy_state,
        "retention_policy": sc.retention.policy,
        "expires_at": sc.retention.expires_at,
        "retain_until": sc.retention.retain_until,
        "legal_hold": sc.retention.legal_hold,
        "created_at": sc.created_at,
        "updated_at": sc.updated_at,
    }


_FILE_COLUMNS = tuple(
    c.name for c in files.columns if c.name not in ("last_verified_at", "search")
)  # every column _row fills
_UPSERT_FILE = insert_on_conflict(
    files,
    _FILE_COLUMNS,
    conflict=("generation", "file_id"),
    update=tuple(c for c in _FILE_COLUMNS if c not in ("generation", "file_id")),
)


async def upsert_file(session: AsyncSession, generation: int, sc: Sidecar) -> None:
    await upsert_files(session, generation, [sc])


async def upsert_files(session: AsyncSession, generation: int, sidecars: list[Sidecar]) -> None:
    """Insert or replace the index rows of ``sidecars`` (distinct file ids), one statement."""
    if sidecars:
        await session.execute(_UPSERT_FILE, [_row(generation, sc) for sc in sidecars])


async def delete_file(session: AsyncSession, generation: int, file_id: str) -> bool:
    result = await session.execute(
        sa.delete(files).where(files.c.generation == generation, files.c.file_id == file_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def append_change(
    session: AsyncSession,
    generation: int,
    op: str,
    *,
    file_id: str | None = None,
    doc: dict[str, Any] | None = None,
    mode: str | None = None,
) -> int:
    (seq,) = await append_changes(
        session, generation, [{"op": op, "file_id": file_id, "doc": doc, "mode": mode}]
    )
    return seq


async def append_changes(session: AsyncSession, generation: int, entries: list[dict[str, Any]]) -> list[int]:
    """Append feed entries (each ``op`` with ``file_id``/``doc``/``mode``) in order; returns
    their ``seq``s. One UPDATE takes the whole range from the generation's row (whose lock
    the transaction holds until commit) and one statement inserts the rows."""
    count = len(entries)
    last = int(
        await session.scalar(
            sa.update(generations)
            .where(generations.c.generation == generation)
            .values(last_seq=generations.c.last_seq + sa.bindparam("count", type_=sa.BigInteger))
            .returning(generations.c.last_seq),
            {"count": count},
        )
        or 0
    )
    seqs = list(range(last - count + 1, last + 1))
    now = _now()
    rows = [
        {
            "generation": generation,
            "seq": seq,
            "op": entry["op"],
            "file_id": entry.get("file_id"),
            "doc": entry.get("doc"),
            "mode": entry.get("mode"),
            "created_at": now,
        }
        for seq, entry in zip(seqs, entries, strict=True)
    ]
    await session.execute(sa.insert(changes), rows)
    return seqs


async def get_doc(session: AsyncSession, file_id: str) -> dict[str, Any] | None:
    gen = sa.select(generations.c.generation).where(generations.c.active).scalar_subquery()
    doc = await session.scalar(
        sa.select(files.c.doc).where(files.c.generation == gen, files.c.file_id == file_id)
    )
    return dict(doc) if doc is not None else None


def _cursor(file_id: str) -> str:
    return base64.urlsafe_b64encode(file_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    if not raw:
        raise ValueError("empty cursor")
    return raw


async def list_docs(
    session: AsyncSession, *, q: str | None, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Keyset page by ``file_id``; ``q`` is web-search syntax over the three configurations."""
    gen = sa.select(generations.c.generation).where(generations.c.active).scalar_subquery()
    query = sa.select(files.c.file_id, files.c.doc).where(files.c.generation == gen)
    if q:
        query = query.where(
            sa.or_(
                *(
                    files.c.search.op("@@")(
                        sa.func.websearch_to_tsquery(sa.literal_column(f"'{cfg}'::regconfig"), q)
                    )
                    for cfg in ("simple", "english", "russian")
                )
            )
        )
    if after:
        query = query.where(files.c.file_id > after)
    rows = (await session.execute(query.order_by(files.c.file_id).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [dict(r.doc) for r in rows], (_cursor(rows[-1].file_id) if more and rows else None)


async def read_changes(
    session: AsyncSession, *, after: int, limit: int
) -> tuple[Generation | None, list[Any]]:
    gen = await active(session)
    if gen is None:
        return None, []
    rows = (
        await session.execute(
            sa.select(changes)
            .where(changes.c.generation == gen.generation, changes.c.seq > after)
            .order_by(changes.c.seq)
            .limit(limit)
        )
    ).all()
    return gen, list(rows)


async def totals(session: AsyncSession) -> tuple[int, int]:
    """(files, bytes used on the backend): the stored size of encoded copies (sidecar ``encoding``)."""
    stored = sa.func.coalesce(files.c.doc["encoding"]["stored_size"].astext.cast(sa.BigInteger), files.c.size)
    gen = sa.select(generations.c.generation).where(generations.c.active).scalar_subquery()
    row = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(stored), 0)).where(
                files.c.generation == gen
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def expired_temporary(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    gen = sa.select(generations.c.generation).where(generations.c.active).scalar_subquery()
    rows = await session.scalars(
        sa.select(files.c.file_id)
        .where(
            files.c.generation == gen,
            files.c.retention_policy == "temporary",
            files.c.expires_at <= now,
            sa.not_(files.c.legal_hold),
        )
        .order_by(files.c.expires_at)
        .limit(limit)
    )
    return list(rows)


async def mark_verified(session: AsyncSession, file_id: str, when: datetime) -> None:
    gen = sa.select(generations.c.generation).where(generations.c.active).scalar_subquery()
    await session.execute(
        sa.update(files)
        .where(files.c.generation == gen, files.c.file_id == file_id)
        .values(last_verified_at=when)
    )


async def all_docs(session: AsyncSession, generation: int | None = None) -> dict[str, dict[str, Any]]:
    gen: Any = generation
    if gen is None:
        gen = sa.select(generations.c.generation).where(generations.c.active).scalar_subquery()
    rows = (
        await session.execute(sa.select(files.c.file_id, files.c.doc).where(files.c.generation == gen))
    ).all()
    return {r.file_id: dict(r.doc) for r in rows}


async def last_mode(session: AsyncSession, generation: int) -> str | None:
    mode = await session.scalar(
        sa.select(changes.c.mode)
        .where(changes.c.generation == generation, changes.c.op == "mode")
        .order_by(changes.c.seq.desc())
        .limit(1)
    )
    return None if mode is None else str(mode)
