"""Reading the change feed: rows of the active generation rendered as API records."""

from __future__ import annotations

from typing import Any

from storage_element.index import repository as repo
from storage_element.storage.sidecar import Sidecar, record
from storage_element.storage.store import Store


async def read(store: Store, *, after: int, limit: int) -> dict[str, Any]:
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
