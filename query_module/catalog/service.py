"""Applying an SE's change feed to the catalog, one page per transaction.

:func:`pull_once` is the unit of work of the feed runner (and what tests drive directly
with pages they build): under the SE's advisory lock it reads the cursor, fetches the
next page, applies it and stores the new cursor in the same transaction, so a replay
after a crash is idempotent and two replicas never apply the same SE at once.

Epochs: an SE whose index was rebuilt reports a new ``feed_epoch``. The catalog then
starts a new *pass*: it re-reads the feed from 0, stamping every copy it sees with the
pass id, and when it has caught up it sweeps that SE's copies of older passes (files
that did not come back). Resetting the cursors (a full rebuild) starts a pass the same
way. Until the sweep, the old rows keep answering searches.

Last copies: a saga moves a file by committing its copy on the target SE and only then
deleting the source copy (a ``relocated`` delete). The feed's delete item does not say
why a copy went, so with ``hold_last_copies_after`` set, a delete that would leave a
file with no known copy stops the page just before it: the caller reads the other SEs'
feeds first (the target's copy is already there), then applies the delete. A finalized
or transferred file is thus never missing from the catalog between the two feeds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from query_module.catalog import repository as repo

log = logging.getLogger("artstore.query.feed")

Fetch = Callable[[int], Awaitable[dict[str, Any]]]


@dataclass
class PullResult:
    busy: bool = False
    applied: int = 0
    caught_up: bool = True
    changed: set[str] = field(default_factory=set)
    all_changed: bool = False  # a mode change touches every file of the SE
    # A delete of a last known copy was held back; the page, read up to this seq, was
    # fetched before the caller reads the other SEs' feeds (then pass it as the hold bound).
    held_through: int | None = None


async def pull_once(
    session: AsyncSession,
    *,
    se_id: str,
    fetch: Fetch,
    page_size: int,
    default_mode: str = "rw",
    hold_last_copies_after: int | None = None,
) -> PullResult:
    if not await repo.try_lock_feed(session, se_id):
        return PullResult(busy=True, caught_up=False)
    cursor = await repo.load_cursor(session, se_id)
    after = cursor.last_seq if cursor.feed_epoch is not None else 0
    page = await fetch(after)
    if page.get("feed_epoch") is None:
        return PullResult()  # the SE has no index generation yet: nothing to read
    if page.get("feed_epoch") != cursor.feed_epoch or cursor.pass_id is None:
        if after != 0:
            page = await fetch(0)
        log.info(
            "feed_new_pass",
            extra={"se_id": se_id, "old_epoch": cursor.feed_epoch, "feed_epoch": page.get("feed_epoch")},
        )
        cursor.feed_epoch = str(page.get("feed_epoch"))
        cursor.last_seq = 0
        cursor.pass_id = uuid.uuid4().hex
        cursor.sweep_pending = True
    if cursor.mode is None:
        cursor.mode = default_mode
    items = page.get("items") or []
    held = await _last_copies(session, cursor, items, hold_last_copies_after)
    result = await apply_items(session, cursor, items, hold=held)
    if result.held_through is not None:
        result.held_through = max(int(i["seq"]) for i in items)
        result.caught_up = False
    else:
        result.caught_up = len(items) < page_size or cursor.last_seq >= int(page.get("last_seq") or 0)
    if result.caught_up and cursor.sweep_pending:
        swept = await repo.sweep(session, se_id, cursor.pass_id or "")
        await repo.refresh_files(session, swept)
        result.changed.update(swept)
        cursor.sweep_pending = False
        log.info("feed_pass_swept", extra={"se_id": se_id, "removed": len(swept)})
    await repo.save_cursor(session, cursor)
    return result


async def _last_copies(
    session: AsyncSession, cursor: repo.Cursor, items: list[dict[str, Any]], after: int | None
) -> set[int]:
    """The seqs of the page's deletes after ``after`` that would leave a file with no copy."""
    if after is None:
        return set()
    deletes = {
        int(i["seq"]): str(i["file_id"])
        for i in items
        if i.get("op") == "delete" and i.get("file_id") and int(i["seq"]) > max(after, cursor.last_seq)
    }
    if not deletes:
        return set()
    elsewhere = await repo.copied_elsewhere(session, cursor.se_id, set(deletes.values()))
    return {seq for seq, file_id in deletes.items() if file_id not in elsewhere}


async def apply_items(
    session: AsyncSession, cursor: repo.Cursor, items: list[dict[str, Any]], *, hold: set[int] | None = None
) -> PullResult:
    """Apply feed items in sequence order; advances ``cursor`` (saved by the caller).

    Consecutive upserts are written in one statement (the last one per file wins, as
    applying them one by one would); a delete or a mode change first writes what is
    buffered, so the order of effects is the feed's order. Items stop before the first
    seq in ``hold`` (``held_through`` is then set)."""
    result = PullResult()
    buffered: dict[str, dict[str, Any]] = {}

    async def flush() -> None:
        await repo.upsert_copies(session, list(buffered.values()))
        buffered.clear()

    for item in sorted(items, key=lambda i: int(i["seq"])):
        seq = int(item["seq"])
        if seq <= cursor.last_seq:
            continue  # already applied (a replayed page)
        if hold and seq in hold:
            result.held_through = seq
            break
        op = item.get("op")
        if op == "upsert" and item.get("record"):
            row = repo.copy_row(cursor.se_id, cursor.mode or "rw", cursor.pass_id or "", item["record"])
            buffered[row["file_id"]] = row
            result.changed.add(row["file_id"])
        elif op == "delete" and item.get("file_id"):
            buffered.pop(str(item["file_id"]), None)
            await repo.delete_copy(session, cursor.se_id, str(item["file_id"]))
            result.changed.add(str(item["file_id"]))
        elif op == "mode" and item.get("mode"):
            await flush()
            cursor.mode = str(item["mode"])
            await repo.set_mode(session, cursor.se_id, cursor.mode)
            result.all_changed = True
        else:
            log.warning("feed_item_ignored", extra={"se_id": cursor.se_id, "seq": seq, "op": op})
        cursor.last_seq = seq
        result.applied += 1
    await flush()
    await repo.refresh_files(session, result.changed)
    return result
