"""``GET /api/v1/changes?after=&limit=``: the ordered change feed of this SE's index.

Each upsert carries the full file record as ``GET /api/v1/files/{id}`` shows it (with the
copy's state); deletes carry ``record: null``; mode changes carry ``mode``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from storage_element.deps import FeedReader, StoreDep
from storage_element.index import repository as repo
from storage_element.storage.sidecar import Sidecar, record

router = APIRouter(prefix="/api/v1", tags=["changes"])


@router.get("/changes")
async def changes(
    store: StoreDep,
    _: FeedReader,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    async with store.sessions() as session:
        gen, rows = await repo.read_changes(session, after=after, limit=limit)
    items: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str, Any] = {"seq": row.seq, "op": row.op, "file_id": row.file_id}
        if row.op == "mode":
            item.update(mode=row.mode, record=None)
        else:
            item["record"] = (
                record(Sidecar.load(row.doc), se_id=store.se_id, mode=store.mode.current) if row.doc else None
            )
        items.append(item)
    return {
        "feed_epoch": gen.feed_epoch if gen else None,
        "items": items,
        "last_seq": max([gen.last_seq if gen else 0, *(i["seq"] for i in items)]),
    }
