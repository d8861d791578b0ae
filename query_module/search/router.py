"""``GET /api/v1/search`` and ``GET /api/v1/search/suggest`` (API.md "query_module")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from query_module.access import ReaderDep
from query_module.search import service
from query_module.search.schemas import Order, SearchPage, SearchQuery, Sort, Suggestions
from shared.db import SessionDep

router = APIRouter(prefix="/api/v1/search", tags=["search"])


@router.get("", response_model=SearchPage, response_model_exclude_none=False)
async def search(
    request: Request,
    session: SessionDep,
    principal: ReaderDep,
    q: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    tag: Annotated[list[str] | None, Query()] = None,
    owner: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    size_min: Annotated[int | None, Query(ge=0)] = None,
    size_max: Annotated[int | None, Query(ge=0)] = None,
    retention_policy: str | None = None,
    storage_element_id: str | None = None,
    sort: Sort | None = None,
    order: Order | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    facets: bool = False,
) -> SearchPage:
    """Full text (web-search syntax) plus filters; ``meta.<key>=<value>`` filters metadata."""
    meta = {k[5:]: v for k, v in request.query_params.items() if k.startswith("meta.") and len(k) > 5}
    query = SearchQuery(
        q=q,
        filename=filename,
        content_type=content_type,
        tags=tag or [],
        owner=owner,
        created_from=_utc(created_from),
        created_to=_utc(created_to),
        size_min=size_min,
        size_max=size_max,
        retention_policy=retention_policy,
        storage_element_id=storage_element_id,
        meta=meta,
        sort=sort,
        order=order,
        limit=limit,
        cursor=cursor,
        facets=facets,
    )
    return await service.search(
        session=session,
        principal=principal,
        query=query,
        total_cap=request.app.state.settings.search_total_cap,
        relevance_window=request.app.state.settings.search_relevance_window,
    )


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/suggest", response_model=Suggestions)
async def suggest(session: SessionDep, principal: ReaderDep, prefix: str = "") -> Suggestions:
    """Up to 10 filename and tag completions of ``prefix`` among the caller's files."""
    return await service.suggest(session=session, principal=principal, prefix=prefix)
