"""Search and suggestions: the caller's rights applied, pages assembled into file records."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from query_module.access import owner_restriction
from query_module.catalog import repository as catalog
from query_module.search import pages
from query_module.search import repository as repo
from query_module.search.schemas import (
    Cursor,
    SearchItem,
    SearchPage,
    SearchQuery,
    Suggestion,
    Suggestions,
    decode_cursor,
    encode_cursor,
)
from shared.auth import Principal


async def search(
    *,
    session: AsyncSession,
    principal: Principal,
    query: SearchQuery,
    total_cap: int,
    relevance_window: int,
) -> SearchPage:
    """One page of results. The total comes first: it tells whether a relevance-sorted
    query is broad enough for its first page to rank only the window (see pages)."""
    owner_id = owner_restriction(principal)
    sort, order = query.effective_sort, query.effective_order
    after = decode_cursor(query.cursor, sort, order) if query.cursor else None
    await repo.plan_each_statement(session)
    if query.owner:
        query = replace(query, owner_ids=await repo.owner_ids(session, query.owner))
    count, estimated = await repo.total(session, query, owner_id, total_cap)
    broad = estimated or count > relevance_window
    found = await pages.page(session, query, owner_id, after, window=relevance_window, broad=broad)
    more = len(found.rows) > query.limit
    rows = found.rows[: query.limit]
    records = await catalog.records(session, [row.attributes for row in rows])
    items = [
        SearchItem.model_validate({**record, "score": row.score})
        for record, row in zip(records, rows, strict=True)
    ]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        anchor = [_json_key(v) for v in found.anchor] if found.anchor is not None else None
        key = [_json_key(last.key), last.attributes["file_id"]]
        next_cursor = encode_cursor(sort, order, Cursor(key, anchor, last.older))
    facets = await repo.facets(session, query, owner_id) if query.facets else None
    return SearchPage(
        items=items,
        next_cursor=next_cursor,
        total=count,
        total_is_estimate=estimated,
        facets=facets,
    )


def _json_key(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def suggest(
    *, session: AsyncSession, principal: Principal, prefix: str, limit: int = 10
) -> Suggestions:
    if not prefix.strip():
        return Suggestions(items=[])
    found = await repo.suggest(session, prefix.strip(), owner_restriction(principal), limit)
    return Suggestions(items=[Suggestion(kind=kind, value=value) for kind, value in found])
