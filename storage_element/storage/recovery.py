"""Crash recovery: finish or undo every open WAL record, before the SE serves.

The sidecar decides (it is the commit point): a ``put`` whose sidecar exists is rolled
forward (indexed), otherwise its temp and data are removed; an ``update`` re-indexes
whatever sidecar is in place; a ``delete`` whose sidecar is gone is finished (data removed,
index row deleted), otherwise it never happened. The index step runs only when the index
differs from the sidecar, so running recovery twice changes nothing. A change finished
here is audited with the event its WAL intent carries (storage/events.py), in the index
transaction that finishes it, so it is audited exactly once.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread

from storage_element.index import repository as repo
from storage_element.storage.backends.local import small_temp_name
from storage_element.storage.events import finished_event
from storage_element.storage.layout import quarantine_key
from storage_element.storage.mutate import corrupt_sidecar
from storage_element.storage.sidecar import Quarantine, Sidecar, utcnow
from storage_element.storage.store import Store
from storage_element.storage.wal import WalRecord

log = logging.getLogger("artstore.storage_element.recovery")


def _small_temp(key: str) -> str:
    directory, _, name = key.rpartition("/")
    return f"{directory}/{small_temp_name(name)}" if directory else small_temp_name(name)


async def _index_if_differs(
    store: Store, file_id: str, sidecar: Sidecar | None, audit: dict[str, Any] | None = None
) -> bool:
    """Bring the index row to ``sidecar`` (None: no row), with ``audit``, the event of the
    committed change, in the same transaction. An index already equal was written by the
    change's own transaction, which holds its event: nothing is recorded twice."""
    async with store.sessions() as session:
        current = await repo.get_doc(session, file_id)
    if sidecar is None:
        if current is None:
            return False
        await store.index_change("delete", file_id, None, audit=audit)
        return True
    if current == sidecar.doc():
        return False
    await store.index_change("upsert", file_id, sidecar, audit=audit)
    return True


async def _put(store: Store, rec: WalRecord) -> str:
    keys = rec.keys
    await store.backend.delete(keys["temp"])
    await store.backend.delete(_small_temp(keys["sidecar"]))
    sidecar = await store.read_sidecar(keys["data"])
    if sidecar is not None and sidecar.file_id == rec.file_id:
        indexed = await _index_if_differs(store, rec.file_id, sidecar, finished_event(rec, sidecar))
        return "rolled_forward" if indexed else "already_indexed"
    await store.backend.delete(keys["data"])
    return "rolled_back"


async def _update(store: Store, rec: WalRecord) -> str:
    key = rec.keys["sidecar"]
    await store.backend.delete(_small_temp(key))
    raw = await store.backend.read_small(key)
    sidecar = None if raw is None else Sidecar.load(raw)
    # The update committed when its revision is the sidecar's: only then is it audited.
    done = sidecar is not None and sidecar.revision == rec.extra.get("revision")
    audit = finished_event(rec, sidecar) if done else None
    changed = await _index_if_differs(store, rec.file_id, sidecar, audit)
    return "rolled_forward" if changed else "already_indexed"


async def _delete(store: Store, rec: WalRecord) -> str:
    keys = rec.keys
    if await store.backend.read_small(keys["sidecar"]) is not None:
        return "rolled_back"  # the commit point was not reached: the file stays
    await store.backend.delete(keys["data"])
    await store.backend.delete(keys.get("quarantine") or quarantine_key(keys["data"]))
    deleted = await _index_if_differs(store, rec.file_id, None, finished_event(rec, None))
    return "rolled_forward" if deleted else "already_indexed"


async def _quarantine(store: Store, rec: WalRecord) -> str:
    sidecar = await store.read_sidecar(rec.keys["data"])
    if sidecar is None:
        return "rolled_back"
    await store.backend.delete(_small_temp(rec.keys["data"] + ".attr.json"))
    moved = await store.backend.size(rec.keys["data"]) is None and await store.backend.size(
        rec.keys["quarantine"]
    )
    if sidecar.copy_state != "corrupt" and moved:
        # The intent's marker; an intent written before it travelled there has none.
        marker = rec.extra.get("marker") or Quarantine(detected_at=utcnow()).model_dump(mode="json")
        sidecar = corrupt_sidecar(sidecar, marker)
        await store.backend.put_small(rec.keys["data"] + ".attr.json", sidecar.dump())
    audit = finished_event(rec, sidecar) if sidecar.copy_state == "corrupt" else None
    changed = await _index_if_differs(store, rec.file_id, sidecar, audit)
    return "rolled_forward" if changed else "already_indexed"


HANDLERS = {"put": _put, "update": _update, "delete": _delete, "quarantine": _quarantine}


async def recover(store: Store) -> dict[str, Any]:
    """Finish every open WAL record; returns what was done (empty lists on a clean log)."""
    report: dict[str, Any] = {"rolled_forward": [], "rolled_back": [], "already_indexed": []}
    for rec in await anyio.to_thread.run_sync(store.wal.open_records):
        outcome = await HANDLERS[rec.op](store, rec)
        report[outcome].append({"op": rec.op, "file_id": rec.file_id})
        if outcome == "rolled_back":
            await store.wal.aborted(rec)
        else:
            await store.wal.done(rec)
        log.info("wal_record_recovered", extra={"op": rec.op, "file_id": rec.file_id, "outcome": outcome})
    await anyio.to_thread.run_sync(store.wal.compact)
    return report
