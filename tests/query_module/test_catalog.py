"""The catalog as a projection of change feeds: copies, winners, modes, epochs, rebuilds.

Pages are fed through the catalog's own apply function (``pull_once``) from scripted
feeds; the feed runner against real storage elements is tested in ``test_storage.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from query_module.catalog import repository as repo
from query_module.catalog.service import pull_once
from query_module.models import catalog_copies, feed_cursors
from shared.db import unit_of_work
from tests.query_module.conftest import Feed, QueryFactory, apply_feed, bearer, make_record
from tests.support.tokens import TestKeys


async def _get(q: Any, keys: TestKeys, file_id: str) -> dict[str, Any] | None:
    response = await q.client.get(f"/api/v1/files/{file_id}", headers=bearer(keys.user("OPERATOR", "olga")))
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _snapshot(q: Any) -> list[tuple[Any, ...]]:
    async with unit_of_work(q.app.state.sessions) as session:
        copies = (
            await session.execute(
                sa.select(catalog_copies.c.file_id, catalog_copies.c.se_id, catalog_copies.c.state).order_by(
                    catalog_copies.c.file_id, catalog_copies.c.se_id
                )
            )
        ).all()
        ids = [c.file_id for c in copies]
        records = [await repo.get_record(session, i) for i in sorted(set(ids))]
    return [tuple(c) for c in copies] + [(json.dumps(r, sort_keys=True),) for r in records]


async def test_copies_winner_preferred_copy_and_deletes(query: QueryFactory, keys: TestKeys) -> None:
    edit, rw = Feed("edit-1"), Feed("rw-1")
    t0, t1 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    first = make_record(name="draft.txt", description="old", se_id="edit-1", updated_at=t0)
    edit.mode("edit")
    edit.upsert(first)
    async with query() as q:
        await apply_feed(q.app, edit)
        record = await _get(q, keys, first["file_id"])
        assert record is not None and record["description"] == "old"
        assert record["copies"] == [{"storage_element_id": "edit-1", "mode": "edit", "state": "committed"}]

        # The same file arrives on an rw SE (a finalize saga's pending copy), newer revision.
        rw.upsert(
            {
                **first,
                "revision": 2,
                "description": "new",
                "updated_at": t1.isoformat(),
                "copies": [{"storage_element_id": "rw-1", "state": "pending"}],
            }
        )
        await apply_feed(q.app, rw)
        record = await _get(q, keys, first["file_id"])
        assert record is not None and record["description"] == "new"  # highest revision wins
        assert record["storage_element_id"] == "edit-1"  # a pending copy is not preferred
        assert {c["storage_element_id"]: c["state"] for c in record["copies"]} == {
            "edit-1": "committed",
            "rw-1": "pending",
        }
        # The rw copy is committed: now it is preferred over the edit copy.
        rw.upsert(
            {
                **first,
                "revision": 2,
                "description": "new",
                "updated_at": t1.isoformat(),
                "copies": [{"storage_element_id": "rw-1", "state": "committed"}],
            }
        )
        await apply_feed(q.app, rw)
        record = await _get(q, keys, first["file_id"])
        assert record is not None and record["storage_element_id"] == "rw-1"

        # The source copy is removed: the file stays, with one copy.
        edit.delete(first["file_id"])
        await apply_feed(q.app, edit)
        record = await _get(q, keys, first["file_id"])
        assert record is not None and [c["storage_element_id"] for c in record["copies"]] == ["rw-1"]
        # Its last copy goes: the file is gone.
        rw.delete(first["file_id"])
        await apply_feed(q.app, rw)
        assert await _get(q, keys, first["file_id"]) is None


async def test_equal_revisions_are_decided_by_updated_at(query: QueryFactory, keys: TestKeys) -> None:
    a, b = Feed("se-a"), Feed("se-b")
    rec = make_record(description="on a", updated_at=datetime(2026, 5, 2, tzinfo=UTC))
    a.upsert(rec)
    b.upsert({**rec, "description": "on b", "updated_at": datetime(2026, 5, 1, tzinfo=UTC).isoformat()})
    async with query() as q:
        await apply_feed(q.app, b)
        await apply_feed(q.app, a)
        record = await _get(q, keys, rec["file_id"])
        assert record is not None and record["description"] == "on a"


async def test_mode_changes_mark_copies_archived(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    rec = feed.upsert(make_record())
    async with query() as q:
        await apply_feed(q.app, feed)
        feed.mode("ro")
        await apply_feed(q.app, feed)
        record = await _get(q, keys, rec["file_id"])
        assert record is not None and record["copies"][0]["mode"] == "ro" and record["status"] == "available"
        feed.mode("ar")
        await apply_feed(q.app, feed)
        record = await _get(q, keys, rec["file_id"])
        assert record is not None
        assert record["copies"] == [{"storage_element_id": "se-a", "mode": "ar", "state": "archived"}]
        assert record["status"] == "archived"
        download = await q.client.get(
            f"/api/v1/files/{rec['file_id']}/download", headers=bearer(keys.user("ADMIN", "root"))
        )
        assert download.status_code == 409 and download.json()["code"] == "archived"


async def test_corrupt_copy_flags_the_file(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    rec = feed.upsert(make_record())
    feed.upsert({**rec, "copies": [{"storage_element_id": "se-a", "state": "corrupt"}]})
    async with query() as q:
        await apply_feed(q.app, feed)
        record = await _get(q, keys, rec["file_id"])
        assert record is not None and record["status"] == "corrupt"
        download = await q.client.get(
            f"/api/v1/files/{rec['file_id']}/download", headers=bearer(keys.user("ADMIN", "root"))
        )
        assert download.status_code == 409 and download.json()["code"] == "corrupt"


async def test_replayed_pages_are_idempotent_and_cursor_moves_with_rows(
    query: QueryFactory, keys: TestKeys
) -> None:
    feed = Feed("se-a")
    for i in range(7):
        feed.upsert(make_record(name=f"f{i}.txt"))
    async with query() as q:
        await apply_feed(q.app, feed, page_size=3)
        before = await _snapshot(q)
        # A page that fails half-way leaves neither rows nor cursor behind.
        feed.upsert(make_record(name="late.txt"))
        feed.items.append({"seq": feed.items[-1]["seq"] + 1, "op": "upsert", "record": {"no": "file id"}})
        with pytest.raises(KeyError):
            async with unit_of_work(q.app.state.sessions) as session:
                await pull_once(session, se_id="se-a", fetch=feed.fetch, page_size=50)
        assert await _snapshot(q) == before
        async with unit_of_work(q.app.state.sessions) as session:
            assert await session.scalar(sa.select(feed_cursors.c.last_seq)) == 7
        feed.items.pop()
        # Replaying everything from 0 in the same epoch changes nothing.
        await apply_feed(q.app, feed)
        after = await _snapshot(q)
        async with unit_of_work(q.app.state.sessions) as session:
            await session.execute(sa.update(feed_cursors).values(last_seq=0))
        await apply_feed(q.app, feed)
        assert await _snapshot(q) == after and len(after) > len(before)


async def test_new_epoch_rereads_and_sweeps(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    kept = [feed.upsert(make_record(name=f"kept{i}.txt")) for i in range(5)]
    lost = feed.upsert(make_record(name="lost.txt"))
    async with query() as q:
        await apply_feed(q.app, feed, page_size=2)
        assert await _get(q, keys, lost["file_id"]) is not None
        before = await _snapshot(q)
        # The SE rebuilt its index; "lost" did not come back (its sidecar is gone).
        feed.reindex(kept)
        feed.upsert(make_record(name="after.txt"))
        await apply_feed(q.app, feed, page_size=2)
        assert await _get(q, keys, lost["file_id"]) is None
        for rec in kept:
            assert await _get(q, keys, rec["file_id"]) is not None
        # Reindexing again with the same files leaves the catalog identical.
        snapshot = await _snapshot(q)
        assert len(snapshot) == len(before)
        feed.reindex([i["record"] for i in feed.items])
        await apply_feed(q.app, feed, page_size=4)
        assert await _snapshot(q) == snapshot


async def test_reset_cursors_rebuilds_identically(query: QueryFactory, keys: TestKeys) -> None:
    a, b = Feed("se-a"), Feed("se-b")
    shared = make_record(name="both.txt")
    a.upsert(shared)
    b.upsert({**shared, "copies": [{"storage_element_id": "se-b", "state": "committed"}]})
    for i in range(6):
        (a if i % 2 else b).upsert(make_record(name=f"n{i}.txt", tags=[f"t{i}"]))
    async with query() as q:
        await apply_feed(q.app, a)
        await apply_feed(q.app, b)
        before = await _snapshot(q)
        async with unit_of_work(q.app.state.sessions) as session:
            assert await repo.reset_cursors(session) == 2
            # A row the feeds never had (a stale leftover) is swept by the rebuild.
            await repo.upsert_copy(session, "se-a", "rw", "stale-pass", make_record(name="ghost.txt"))
        await apply_feed(q.app, a)
        await apply_feed(q.app, b)
        assert await _snapshot(q) == before


async def test_one_runner_per_se_across_replicas(query: QueryFactory, keys: TestKeys) -> None:
    feed = Feed("se-a")
    feed.upsert(make_record())
    fetched: list[int] = []

    async def fetch(after: int) -> dict[str, Any]:
        fetched.append(after)
        return await feed.fetch(after)

    async with query() as a, query() as b:
        # Replica A holds se-a's lock (mid-page); replica B's runner skips the SE.
        async with unit_of_work(a.app.state.sessions) as holding:
            assert await repo.try_lock_feed(holding, "se-a")
            async with unit_of_work(b.app.state.sessions) as session:
                result = await pull_once(session, se_id="se-a", fetch=fetch, page_size=50)
            assert result.busy and fetched == []
            # Another SE is not blocked.
            async with unit_of_work(b.app.state.sessions) as session:
                other = await pull_once(session, se_id="se-b", fetch=Feed("se-b").fetch, page_size=50)
            assert not other.busy
        async with unit_of_work(b.app.state.sessions) as session:
            result = await pull_once(session, se_id="se-a", fetch=fetch, page_size=50)
        assert not result.busy and fetched == [0] and result.applied == 1


async def test_an_se_without_an_index_generation_is_skipped(query: QueryFactory) -> None:
    async def empty(after: int) -> dict[str, Any]:
        return {"feed_epoch": None, "items": [], "last_seq": 0}

    async with query() as q:
        for _ in range(2):
            async with unit_of_work(q.app.state.sessions) as session:
                result = await pull_once(session, se_id="se-new", fetch=empty, page_size=50)
            assert result.caught_up and result.applied == 0
        async with unit_of_work(q.app.state.sessions) as session:
            cursor = await repo.load_cursor(session, "se-new")
        assert cursor.feed_epoch is None and cursor.pass_id is None


async def test_one_page_with_interleaved_operations_applies_in_feed_order(
    query: QueryFactory, keys: TestKeys
) -> None:
    feed = Feed("se-a")
    a, b, c = make_record(name="a.txt"), make_record(name="b.txt"), make_record(name="c.txt")
    feed.upsert(a)
    feed.delete(a["file_id"])
    feed.upsert({**a, "description": "back again"})
    feed.upsert(b)
    feed.mode("ro")
    feed.delete(b["file_id"])
    feed.upsert(c)
    feed.upsert({**c, "revision": 2, "description": "second"})
    async with query() as q:
        await apply_feed(q.app, feed, page_size=50)  # everything in one page
        record_a = await _get(q, keys, a["file_id"])
        assert record_a is not None and record_a["description"] == "back again"
        assert record_a["copies"][0]["mode"] == "ro"  # written before the mode change, then marked
        assert await _get(q, keys, b["file_id"]) is None
        record_c = await _get(q, keys, c["file_id"])
        assert record_c is not None and record_c["description"] == "second" and record_c["revision"] == 2
        assert record_c["copies"][0]["mode"] == "ro"
