"""Consistency (dry run): sidecars against the index, and data objects against sidecars."""

from __future__ import annotations

from typing import Any

from storage_element.index import repository as repo
from storage_element.jobs.registry import Progress
from storage_element.storage.layout import QUARANTINE_DIR, SIDECAR_SUFFIX, is_sidecar
from storage_element.storage.sidecar import Sidecar
from storage_element.storage.store import Store


async def consistency(store: Store, progress: Progress = lambda _: None) -> dict[str, Any]:
    sidecars: dict[str, Sidecar] = {}
    data_keys: set[str] = set()
    unreadable: list[str] = []
    async for key in store.backend.list_keys():
        if key.startswith(QUARANTINE_DIR + "/") or key.rsplit("/", 1)[-1].startswith("."):
            continue
        if is_sidecar(key):
            try:
                sc = Sidecar.load(await store.backend.read_small(key) or b"")
                sidecars[sc.file_id] = sc
            except ValueError:
                unreadable.append(key)
        elif not key.endswith(SIDECAR_SUFFIX):
            data_keys.add(key)
    progress({"sidecars": len(sidecars)})
    async with store.sessions() as session:
        indexed = await repo.all_docs(session)
    differing = [fid for fid, sc in sidecars.items() if fid in indexed and indexed[fid] != sc.doc()]
    with_data = {sc.path for sc in sidecars.values()}
    return {
        "sidecars": len(sidecars),
        "indexed": len(indexed),
        "missing_in_index": sorted(set(sidecars) - set(indexed)),
        "orphaned_in_index": sorted(set(indexed) - set(sidecars)),
        "differing": sorted(differing),
        "data_without_sidecar": sorted(data_keys - with_data),
        "sidecar_without_data": sorted(
            sc.file_id for sc in sidecars.values() if sc.path not in data_keys and sc.copy_state != "corrupt"
        ),
        "unreadable_sidecars": unreadable,
    }
