"""Search and suggestions: the caller's rights applied, pages assembled into file records."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from query_module.access import owner_restriction
from query_module.catalog import repository as catalog
from query_module.search import repository as repo
from query_module.search.schemas import (
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
    *, session: AsyncSession, principal: Principal, query: SearchQuery, total_cap: int
) -> SearchPage:
    owner_id = owner_restriction(principal)
    sort, order = query.effective_sort, query.effective_order
    after = decode_cursor(query.cursor, sort, order) if query.cursor else None
    await repo.plan_each_statement(session)
    if query.owner:
        query = replace(query, owner_ids=await repo.owner_ids(session, query.owner))
    rows = await repo.page(session, query, owner_id, after)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    records = await catalog.records(session, [attributes for attributes, _, _ in rows])
    items = [
        SearchItem.model_validate({**record, "score": score})
        for record, (_, score, _) in zip(records, rows, strict=True)
    ]
    next_cursor = None
    if more and rows:
        last_attributes, _, last_key = rows[-1]
        next_cursor = encode_cursor(sort, order, [_json_key(last_key), last_attributes["file_id"]])
    count, estimated = await repo.total(session, query, owner_id, total_cap)
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
