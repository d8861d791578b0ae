"""Group commit of the index step (storage/store.py): concurrent changes share one
transaction, each caller learns its own ``seq``, a bad change fails alone, and a caller
cancelled mid-transaction leaves its neighbours' changes to the next transaction."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shared.outbox import audit_event, outbox_table
from storage_element.storage.sidecar import Sidecar
from storage_element.storage.store import Store
from storage_element.storage.wal import Wal
from tests.storage_element.conftest import SE


async def _sidecars(se: SE, count: int) -> list[Sidecar]:
    out = []
    for i in range(count):
        assert (await se.put(f"g{i}", f"group {i}".encode())).status_code == 201
        found = await se.store.find(f"g{i}")
        assert found is not None
        out.append(found)
    return out


def _count_transactions(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    original = store._write_changes

    async def counting(batch: list[Any]) -> tuple[list[int], str]:
        sizes.append(len(batch))
        return await original(batch)

    monkeypatch.setattr(store, "_write_changes", counting)
    return sizes


async def test_concurrent_changes_share_transactions_and_keep_their_seq(
    se: SE, monkeypatch: pytest.MonkeyPatch
) -> None:
    sidecars = await _sidecars(se, 20)
    before = (await se.changes())["last_seq"]
    sizes = _count_transactions(se.store, monkeypatch)
    results = await asyncio.gather(*(se.store.index_change("upsert", s.file_id, s) for s in sidecars))
    seqs = [seq for seq, _ in results]
    assert sorted(seqs) == list(range(before + 1, before + 21))
    assert sum(sizes) == 20 and len(sizes) < 20 and max(sizes) > 1
    feed = {item["seq"]: item["file_id"] for item in (await se.changes(after=before))["items"]}
    assert [feed[seq] for seq in seqs] == [s.file_id for s in sidecars]  # each caller's own seq


async def test_a_failing_change_fails_alone(se: SE) -> None:
    sidecars = await _sidecars(se, 4)
    before = (await se.changes())["last_seq"]
    # Postgres refuses a NUL character in text and JSONB: that change's statement fails.
    bad = Sidecar.load({**sidecars[2].doc(), "description": "nul \x00 byte"})
    calls = [
        se.store.index_change("upsert", sidecars[0].file_id, sidecars[0]),
        se.store.index_change("upsert", sidecars[1].file_id, sidecars[1]),
        se.store.index_change("upsert", bad.file_id, bad),
        se.store.index_change("upsert", sidecars[3].file_id, sidecars[3]),
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and isinstance(results[2], Exception)
    items = (await se.changes(after=before))["items"]
    assert sorted(i["file_id"] for i in items) == ["g0", "g1", "g3"]
    assert [i["seq"] for i in items] == list(range(before + 1, before + 4))  # still gapless


async def test_an_audit_event_is_recorded_once_by_its_id(se: SE) -> None:
    """A change finished twice (recovery after recovery, a retried index step) carries the
    same event from its WAL intent: the outbox keeps it once, the index steps both commit."""
    (sidecar,) = await _sidecars(se, 1)
    event = audit_event(service="storage_element", action="file.test", target="g0", actor=None, details={})
    first = await se.store.index_change("upsert", sidecar.file_id, sidecar, audit=event)
    again = await asyncio.gather(
        se.store.index_change("upsert", sidecar.file_id, sidecar, audit=dict(event)),
        se.store.index_change("upsert", sidecar.file_id, sidecar, audit=dict(event)),
    )
    assert [seq for seq, _ in again] == [first[0] + 1, first[0] + 2]
    async with se.store.sessions() as session:
        rows = (
            await session.scalars(sa.select(outbox_table.c.event).where(outbox_table.c.id == event["id"]))
        ).all()
    assert rows == [event]


async def test_a_cancelled_holder_leaves_the_others_to_the_next_transaction(
    se: SE, monkeypatch: pytest.MonkeyPatch
) -> None:
    sidecars = await _sidecars(se, 5)
    before = (await se.changes())["last_seq"]
    store = se.store
    original = store._write_changes
    entered = asyncio.Event()
    first = True

    async def slow_first(batch: list[Any]) -> tuple[list[int], str]:
        nonlocal first
        if first:
            first = False
            entered.set()
            await asyncio.sleep(30)  # cancelled here, inside the transaction
        return await original(batch)

    monkeypatch.setattr(store, "_write_changes", slow_first)
    holder = asyncio.create_task(store.index_change("upsert", sidecars[0].file_id, sidecars[0]))
    await entered.wait()
    waiting = [
        asyncio.create_task(store.index_change("upsert", s.file_id, s, audit=_event(s.file_id)))
        for s in sidecars[1:]
    ]
    await asyncio.sleep(0.05)
    holder.cancel()
    results = await asyncio.wait_for(asyncio.gather(*waiting), timeout=30)
    # The cancelled caller's change went back to the queue with the others: its sidecar
    # had committed it, so indexing it anyway is right (and idempotent).
    items = (await se.changes(after=before))["items"]
    assert sorted(i["file_id"] for i in items) == ["g0", "g1", "g2", "g3", "g4"]
    assert [i["seq"] for i in items] == list(range(before + 1, before + 6))
    by_seq = {i["seq"]: i["file_id"] for i in items}
    assert [by_seq[seq] for seq, _ in results] == ["g1", "g2", "g3", "g4"]
    with pytest.raises(asyncio.CancelledError):
        await holder


def _event(file_id: str) -> dict[str, Any]:
    return audit_event(
        service="storage_element",
        action="file.test",
        target=file_id,
        actor=None,
        details={"nonce": uuid.uuid4().hex},
    )


def test_wal_appends_share_fsyncs_and_none_returns_unsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many threads appending at once: fewer fsyncs than appends, and each append returns
    only after an fsync that began after its line was written."""
    wal = Wal(tmp_path)
    written_before_sync: list[int] = []  # lines in the file when each fsync began
    completed: list[int] = []  # the same, for each fsync that has finished
    returned_with: dict[int, int] = {}  # append number -> finished fsyncs that covered it

    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        written_before_sync.append(wal.path.read_bytes().count(b"\n"))
        time.sleep(0.005)  # a slow disk: appends pile up behind the running fsync
        real_fsync(fd)
        completed.append(written_before_sync[-1])

    monkeypatch.setattr("storage_element.storage.wal.os.fsync", counting_fsync)

    def append(n: int) -> None:
        wal._append({"txid": str(n), "state": "intent"}, True)
        finished = list(completed)
        lines = wal.path.read_bytes().decode().splitlines()
        position = lines.index(f'{{"txid":"{n}","state":"intent"}}') + 1
        returned_with[n] = sum(1 for count in finished if count >= position)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(append, range(64)))
    assert len(wal.path.read_bytes().splitlines()) == 64
    assert len(written_before_sync) < 64
    assert all(covering >= 1 for covering in returned_with.values())
