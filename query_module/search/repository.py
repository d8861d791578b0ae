"""SQL of search: filters, full-text ranking, keyset pages, totals, facets, suggestions.

Full text: the query is parsed with ``websearch_to_tsquery`` under ``simple`` (exact
names and codes), ``russian`` and ``english`` (morphology), OR-ed, and matched against
the generated ``search_vector`` (weights A name, B tags, C description, D metadata
values). User-supplied text in LIKE patterns has its wildcards escaped.

Result pages (keyset order, the relevance window of broad queries) are in ``pages``.

Owner filter: ``owner=<X>`` matches files whose owner id or owner username is X. The
service first resolves X to the owner ids it names (:func:`owner_ids`); the filter is then
written as equalities on ``(owner_id)`` or ``(owner_username, owner_id)``, which the
planner serves from indexes, instead of an ``OR`` that reads the whole table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REGCONFIG, array
from sqlalchemy.ext.asyncio import AsyncSession

from query_module.models import catalog_copies, catalog_file_tags, catalog_files
from query_module.search.schemas import SearchQuery

f = catalog_files.c
CONFIGS = ("simple", "russian", "english")
WORD_SEPARATORS = re.compile(r"(?<=\w)[-_./]+(?=\w)")
FACET_LIMIT = 20
OWNER_IDS_MAX = 20


async def plan_each_statement(session: AsyncSession) -> None:
    """Plan every statement of this transaction for its own values. How many rows a search
    matches depends on them (a rare word or half the catalog), and the generic plan a
    prepared statement switches to after five executions cannot know: at 1,000,000 rows it
    counted a broad query's first 10,001 matches from a full GIN bitmap in 1.4 s, where
    the plan for the values reads them in 25 ms."""
    await session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def ts_query(text: str) -> sa.ColumnElement[Any]:
    """The query under each config; names are indexed with ``-_./`` inside words also read
    as spaces, so the query is also tried that way (``INV-2024-0043`` matches the file
    name ``INV-2024-0043.pdf``). Separators before a word (``-draft``) stay operators."""
    texts = [text]
    split = WORD_SEPARATORS.sub(" ", text)
    if split != text:
        texts.append(split)
    parts = [
        sa.func.websearch_to_tsquery(sa.literal(c, REGCONFIG), sa.literal(t)) for t in texts for c in CONFIGS
    ]
    query: sa.ColumnElement[Any] = parts[0]
    for part in parts[1:]:
        query = query.op("||")(part)
    return query


def score_of(text: str) -> sa.ColumnElement[float]:
    return sa.func.ts_rank(f.search_vector, ts_query(text)).label("score")


def _meta_clause(key: str, value: str) -> sa.ColumnElement[bool]:
    """``meta.<key>=<value>``: the value as a string, or as the JSON number/boolean it spells."""
    candidates: list[Any] = [value]
    try:
        parsed = json.loads(value)
        if isinstance(parsed, bool | int | float) and parsed is not None:
            candidates.append(parsed)
    except ValueError:
        pass
    return sa.or_(
        *(f.metadata.op("@>")(sa.cast(sa.literal(json.dumps({key: c})), JSONB)) for c in candidates)
    )


async def owner_ids(session: AsyncSession, owner: str) -> tuple[str, ...] | None:
    """The owner ids ``owner=<X>`` can match: X itself if some file's owner id is X, then
    the other ids of files whose username is X, found by a loose scan of the
    ``(owner_username, owner_id)`` index (one probe per distinct id). None when there are
    more than :data:`OWNER_IDS_MAX` (the filter then stays the plain ``OR``)."""
    named = catalog_files.alias("named")
    first = sa.select(f.owner_id).where(f.owner_username == owner).order_by(f.owner_id).limit(1)
    ids = first.cte("ids", recursive=True)
    following = (
        sa.select(named.c.owner_id)
        .where(named.c.owner_username == owner, named.c.owner_id > ids.c.owner_id)
        .order_by(named.c.owner_id)
        .limit(1)
        .scalar_subquery()
    )
    ids = ids.union_all(sa.select(following).where(ids.c.owner_id.is_not(None)))
    as_id = sa.select(sa.literal(owner, sa.Text)).where(sa.exists().where(f.owner_id == owner))
    by_name = sa.select(ids.c.owner_id).where(ids.c.owner_id.is_not(None), ids.c.owner_id != owner)
    found = list((await session.execute(as_id.union_all(by_name).limit(OWNER_IDS_MAX + 1))).scalars())
    return tuple(found) if len(found) <= OWNER_IDS_MAX else None


def owner_clause(owner: str, ids: Sequence[str] | None) -> sa.ColumnElement[bool]:
    """Files whose owner id or owner username is ``owner``; with the ids it names resolved
    (:func:`owner_ids`), the same files as equalities the indexes serve."""
    if ids is None:
        return sa.or_(f.owner_id == owner, f.owner_username == owner)
    clauses = [
        f.owner_id == owner if i == owner else sa.and_(f.owner_username == owner, f.owner_id == i)
        for i in ids
    ]
    return sa.or_(*clauses) if clauses else sa.false()


def conditions(query: SearchQuery, owner_id: str | None) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = []
    if owner_id is not None:
        conds.append(f.owner_id == owner_id)
    if query.text:
        conds.append(f.search_vector.op("@@")(ts_query(query.text)))
    if query.filename:
        conds.append(f.original_filename.ilike(f"%{escape_like(query.filename)}%", escape="\\"))
    if query.content_type:
        if query.content_type.endswith("/*"):
            prefix = escape_like(query.content_type[:-1])
            conds.append(f.content_type.like(f"{prefix}%", escape="\\"))
        else:
            conds.append(f.content_type == query.content_type)
    if query.tags:
        wanted = sa.cast(array([sa.literal(t) for t in query.tags]), ARRAY(sa.Text))
        conds.append(f.tags.op("@>")(wanted))
    if query.owner:
        conds.append(owner_clause(query.owner, query.owner_ids))
    if query.created_from:
        conds.append(f.created_at >= query.created_from)
    if query.created_to:
        conds.append(f.created_at <= query.created_to)
    if query.size_min is not None:
        conds.append(f.size >= query.size_min)
    if query.size_max is not None:
        conds.append(f.size <= query.size_max)
    if query.retention_policy:
        conds.append(f.retention_policy == query.retention_policy)
    if query.storage_element_id:
        copies = catalog_copies.c
        conds.append(sa.exists().where(copies.file_id == f.file_id, copies.se_id == query.storage_element_id))
    conds.extend(_meta_clause(k, v) for k, v in sorted(query.meta.items()))
    return conds


def sort_column(query: SearchQuery) -> sa.ColumnElement[Any]:
    sort = query.effective_sort
    if sort == "relevance":
        return score_of(query.text or "")
    return {"created_at": f.created_at, "size": f.size, "filename": f.original_filename}[sort]


async def total(
    session: AsyncSession, query: SearchQuery, owner_id: str | None, cap: int
) -> tuple[int, bool]:
    """Exact up to ``cap`` matches; beyond it, the planner's estimate (never below cap + 1)."""
    conds = conditions(query, owner_id)
    bounded = sa.select(sa.literal(1)).select_from(catalog_files).where(*conds).limit(cap + 1).subquery()
    count = int(await session.scalar(sa.select(sa.func.count()).select_from(bounded)) or 0)
    if count <= cap:
        return count, False
    return max(await estimate_rows(session, conds), cap + 1), True


async def estimate_rows(session: AsyncSession, conds: list[sa.ColumnElement[bool]]) -> int:
    """The planner's row estimate for the matches (``EXPLAIN``, nothing is executed).

    EXPLAIN takes no bind parameters through SQLAlchemy's ``text``; the statement is
    compiled for this connection's dialect and sent with its positional values."""
    connection = await session.connection()
    compiled = sa.select(f.file_id).where(*conds).compile(dialect=connection.dialect)
    params = compiled.construct_params()
    values = tuple(params[name] for name in compiled.positiontup or ())
    result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled.string}", values)
    plan = result.scalar()
    doc: list[dict[str, Any]] = json.loads(plan) if isinstance(plan, str) else plan or [{"Plan": {}}]
    return int(doc[0]["Plan"].get("Plan Rows", 0))


async def facets(
    session: AsyncSession, query: SearchQuery, owner_id: str | None
) -> dict[str, list[dict[str, Any]]]:
    matching = sa.select(f.file_id, f.content_type, f.tags, f.retention_policy, f.created_at).where(
        *conditions(query, owner_id)
    )
    base = matching.cte("matching")
    year = sa.cast(sa.func.extract("year", sa.func.timezone("UTC", base.c.created_at)), sa.Integer)
    tag = sa.func.unnest(base.c.tags).table_valued("tag").render_derived()
    copies = catalog_copies.c
    queries: dict[str, sa.Select[Any]] = {
        "content_type": sa.select(base.c.content_type.label("value"), sa.func.count().label("n")).group_by(
            base.c.content_type
        ),
        "tag": sa.select(tag.c.tag.label("value"), sa.func.count().label("n"))
        .select_from(base.join(tag, sa.true()))
        .group_by(tag.c.tag),
        "storage_element_id": sa.select(copies.se_id.label("value"), sa.func.count().label("n"))
        .select_from(base.join(catalog_copies, copies.file_id == base.c.file_id))
        .group_by(copies.se_id),
        "retention_policy": sa.select(
            base.c.retention_policy.label("value"), sa.func.count().label("n")
        ).group_by(base.c.retention_policy),
        "year": sa.select(sa.cast(year, sa.Text).label("value"), sa.func.count().label("n")).group_by(year),
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for name, stmt in queries.items():
        ordered = stmt.order_by(sa.text("n DESC"), sa.text("value")).limit(FACET_LIMIT)
        rows = (await session.execute(ordered)).all()
        out[name] = [{"value": str(r.value), "count": int(r.n)} for r in rows]
    return out


async def suggest(
    session: AsyncSession, prefix: str, owner_id: str | None, limit: int
) -> list[tuple[str, str]]:
    pattern = escape_like(prefix.lower()) + "%"
    owner = [f.owner_id == owner_id] if owner_id is not None else []
    names = (
        await session.execute(
            sa.select(f.original_filename)
            .where(sa.func.lower(f.original_filename).like(pattern, escape="\\"), *owner)
            .group_by(f.original_filename)
            .order_by(sa.func.length(f.original_filename), f.original_filename)
            .limit(limit)
        )
    ).scalars()
    found = [("filename", str(n)) for n in names]
    t = catalog_file_tags.c
    tags = (
        await session.execute(
            sa.select(t.tag)
            .select_from(catalog_file_tags.join(catalog_files, f.file_id == t.file_id))
            .where(sa.func.lower(t.tag).like(pattern, escape="\\"), *owner)
            .group_by(t.tag)
            .order_by(sa.func.count().desc(), t.tag)
            .limit(limit)
        )
    ).scalars()
    found += [("tag", str(tag)) for tag in tags]
    if len(found) < limit and len(prefix) >= 3:
        similar = (
            await session.execute(
                sa.select(f.original_filename)
                .where(f.original_filename.op("%")(prefix), *owner)
                .group_by(f.original_filename)
                .order_by(sa.func.max(sa.func.similarity(f.original_filename, prefix)).desc())
                .limit(limit)
            )
        ).scalars()
        seen = {v for _, v in found}
        found += [("filename", str(n)) for n in similar if str(n) not in seen]
    return _interleave(found, limit)


def _interleave(found: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    names = [x for x in found if x[0] == "filename"]
    tags = [x for x in found if x[0] == "tag"]
    out: list[tuple[str, str]] = []
    while (names or tags) and len(out) < limit:
        if names:
            out.append(names.pop(0))
        if tags and len(out) < limit:
            out.append(tags.pop(0))
    return out
