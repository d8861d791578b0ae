"""``GET /api/v1/changes?after=&limit=``: the ordered change feed of this SE's index.

Each upsert carries the full file record as ``GET /api/v1/files/{id}`` shows it (with the
copy's state); deletes carry ``record: null``; mode changes carry ``mode``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from storage_element.changes import service
from storage_element.deps import FeedReader, StoreDep

router = APIRouter(prefix="/api/v1", tags=["changes"])


@router.get("/changes")
async def changes(
    store: StoreDep,
    _: FeedReader,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return await service.read(store, after=after, limit=limit)
