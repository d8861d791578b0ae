"""SQL of result pages: the keyset order of every sort, and the relevance window.

Relevance window (ADR 0005): ``ts_rank`` has no index, so ranking every match of a broad
query costs seconds at a million files. When a relevance-sorted query has more matches
than the window (setting ``search_relevance_window``), the first page ranks only the
window's worth of the most recent matches (``created_at``, then ``file_id``, descending)
and its cursor carries the window's anchor, the (created_at, file_id) of the oldest
candidate taken. Later pages rank the matches at or after the anchor, so files arriving
meanwhile may join and nothing drops out; once the window is exhausted, the older matches
follow, newest first (with their scores), so every match is still reached by paging.
Queries with no more matches than the window are ranked in full, exactly as before, and
their pages stay so. ``total`` counts every match either way.

The filters, ranking expression and totals are in ``repository``; this module is kept
apart from it for size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from query_module.errors import InvalidCursor
from query_module.models import catalog_files
from query_module.search.repository import conditions, score_of, sort_column
from query_module.search.schemas import Cursor, SearchQuery

f = catalog_files.c


@dataclass
class Row:
    """One result: its stored attributes, its score (with ``q``), the key its page is
    sorted by (``created_at`` past a relevance window) and whether it is past one."""

    attributes: dict[str, Any]
    score: float | None
    key: Any
    older: bool = False


@dataclass
class Page:
    rows: list[Row]
    anchor: list[Any] | None = None  # (created_at, file_id) of a relevance window's oldest candidate


async def page(
    session: AsyncSession,
    query: SearchQuery,
    owner_id: str | None,
    after: Cursor | None,
    *,
    window: int = 0,
    broad: bool = False,
) -> Page:
    """One page (``limit + 1`` rows to know whether another follows). ``window`` is the
    relevance window; ``broad`` says the query has more matches than that, which on a first
    page sorted by relevance means only the window is ranked (module docstring)."""
    conds = conditions(query, owner_id)
    want = query.limit + 1
    if after is not None and after.anchor is not None:
        anchor = after.anchor
        if after.older:
            return Page(await _older(session, query, conds, after.key, want), anchor)
        rows = await _in_window(session, query, conds, window, anchor, after.key)
    elif after is None and broad and window > 0 and query.effective_sort == "relevance":
        first = await _rank_newest(session, query, conds, window)
        if first.taken < window or first.oldest is None:  # the candidates were every match
            return Page(first.rows)
        rows, anchor = first.rows, first.oldest
    else:
        return Page(await _sorted(session, query, conds, after.key if after else None))
    if len(rows) < want:
        rows += await _older(session, query, conds, anchor, want - len(rows))
    return Page(rows, anchor)


async def _in_window(
    session: AsyncSession,
    query: SearchQuery,
    conds: list[sa.ColumnElement[bool]],
    window: int,
    anchor: list[Any],
    after: list[Any],
) -> list[Row]:
    """A later page of a window: the matches at or after its anchor, ranked. They are read
    as the first page read them, newest first with a limit (twice the window, room for
    files that arrived since), which the planner serves from the ``created_at`` index;
    when even that many did not reach back to the anchor, without the limit."""
    if window > 0:
        ranked = await _rank_newest(session, query, conds, 2 * window, anchor, after)
        if ranked.taken < 2 * window or ranked.passed:
            return ranked.rows
    since = sa.tuple_(f.created_at, f.file_id) >= _position(anchor)
    return await _sorted(session, query, [*conds, since], after)


async def _sorted(
    session: AsyncSession, query: SearchQuery, conds: list[sa.ColumnElement[bool]], after: list[Any] | None
) -> list[Row]:
    """Every match in the query's order, from after the key ``after``."""
    key = sort_column(query)
    score = score_of(query.text) if query.text else sa.null()
    stmt = sa.select(f.record, score.label("score"), key.label("sort_key"), f.file_id).where(*conds)
    descending = query.effective_order == "desc"
    if after is not None:
        stmt = stmt.where(_after(sa.tuple_(key, f.file_id), query, after))
    if descending:
        stmt = stmt.order_by(key.desc(), f.file_id.desc())
    else:
        stmt = stmt.order_by(key.asc(), f.file_id.asc())
    rows = (await session.execute(stmt.limit(query.limit + 1))).all()
    return [Row(r.record, r.score, r.sort_key) for r in rows]


@dataclass
class Ranked:
    rows: list[Row]
    oldest: list[Any] | None  # (created_at, file_id) of the oldest candidate
    taken: int  # candidates read
    passed: bool  # the oldest candidate is older than the anchor given


async def _rank_newest(
    session: AsyncSession,
    query: SearchQuery,
    conds: list[sa.ColumnElement[bool]],
    take: int,
    anchor: list[Any] | None = None,
    after: list[Any] | None = None,
) -> Ranked:
    """Rank the ``take`` most recent matches (only those at or after ``anchor``, from after
    the key ``after``, when given) in one statement, which also tells how many candidates
    were read and which was the oldest."""
    candidates = (
        sa.select(f.file_id, f.created_at, score_of(query.text or ""))
        .where(*conds)
        .order_by(f.created_at.desc(), f.file_id.desc())
        .limit(take)
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    c = candidates.c
    position = sa.tuple_(c.created_at, c.file_id)
    ranked = sa.select(c.file_id, c.score)
    if anchor is not None:
        ranked = ranked.where(position >= _position(anchor))
    if after is not None:
        ranked = ranked.where(_after(sa.tuple_(c.score, c.file_id), query, after))
    descending = query.effective_order == "desc"
    order = (c.score.desc(), c.file_id.desc()) if descending else (c.score.asc(), c.file_id.asc())
    top = ranked.order_by(*order).limit(query.limit + 1).subquery("top")
    oldest = _oldest(candidates, anchor)
    outer = (top.c.score.desc(), top.c.file_id.desc()) if descending else (top.c.score, top.c.file_id)
    found = top.join(catalog_files, f.file_id == top.c.file_id)
    stmt = (
        sa.select(f.record, top.c.score, oldest)
        .select_from(oldest.outerjoin(found, sa.true()))  # the oldest even when the page is empty
        .order_by(*outer)
    )
    rows = (await session.execute(stmt)).all()
    if not rows:
        return Ranked([], None, 0, False)
    edge = rows[0]
    ranked_rows = [Row(r.record, r.score, r.score) for r in rows if r.record is not None]
    return Ranked(ranked_rows, [edge.oldest_at, edge.oldest_id], edge.taken, bool(edge.passed))


def _oldest(candidates: sa.CTE, anchor: list[Any] | None) -> sa.Subquery:
    """One row: the oldest candidate, how many were read, and whether it is older than
    ``anchor``."""
    c = candidates.c
    taken = sa.select(sa.func.count()).select_from(candidates).scalar_subquery()
    passed = sa.tuple_(c.created_at, c.file_id) < _position(anchor) if anchor is not None else sa.false()
    columns = (c.created_at.label("oldest_at"), c.file_id.label("oldest_id"), taken.label("taken"))
    return (
        sa.select(*columns, passed.label("passed"))
        .order_by(c.created_at, c.file_id)
        .limit(1)
        .subquery("oldest")
    )


async def _older(
    session: AsyncSession,
    query: SearchQuery,
    conds: list[sa.ColumnElement[bool]],
    before: list[Any],
    count: int,
) -> list[Row]:
    """Matches past a relevance window, newest first, from before ``before`` (the anchor,
    or the last such row returned): (created_at, file_id)."""
    position = sa.tuple_(f.created_at, f.file_id)
    stmt = (
        sa.select(f.record, score_of(query.text or ""), f.created_at)
        .where(*conds, position < _position(before))
        .order_by(f.created_at.desc(), f.file_id.desc())
        .limit(count)
    )
    return [Row(r.record, r.score, r.created_at, older=True) for r in (await session.execute(stmt)).all()]


def _position(raw: Sequence[Any]) -> sa.ColumnElement[Any]:
    """A cursor's (created_at, file_id) as SQL values."""
    return sa.tuple_(_time(raw[0]), sa.literal(str(raw[1]), sa.Text))


def _time(raw: Any) -> sa.ColumnElement[Any]:
    try:
        value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except (TypeError, ValueError) as exc:
        raise InvalidCursor("the cursor is not one this service issued") from exc
    return sa.literal(value, sa.DateTime(timezone=True))


def _after(pair: sa.ColumnElement[Any], query: SearchQuery, after: list[Any]) -> sa.ColumnElement[bool]:
    """``pair`` (sort key, file_id) comes after the cursor's key in the query's order."""
    bound = sa.tuple_(_key_value(query, after[0]), sa.literal(str(after[1]), sa.Text))
    return pair < bound if query.effective_order == "desc" else pair > bound


def _key_value(query: SearchQuery, raw: Any) -> sa.ColumnElement[Any]:
    sort = query.effective_sort
    if sort == "created_at":
        return _time(raw)
    try:
        if sort == "size":
            return sa.literal(int(raw), sa.BigInteger)
        if sort == "relevance":
            return sa.literal(float(raw), sa.REAL)
    except (TypeError, ValueError) as exc:
        raise InvalidCursor("the cursor is not one this service issued") from exc
    return sa.literal(str(raw), sa.Text)
