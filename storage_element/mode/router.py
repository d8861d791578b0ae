"""``/api/v1/mode`` and ``/api/v1/info``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from shared.version import __version__
from storage_element.deps import AnyPrincipal, StorageAdmin, StorageReader, StoreDep
from storage_element.index import repository as repo
from storage_element.mode import service
from storage_element.mode.rules import allowed_operations

router = APIRouter(prefix="/api/v1", tags=["mode"])


class ModeChange(BaseModel):
    mode: str
    confirm: bool = False


@router.get("/mode")
async def get_mode(store: StoreDep, _: StorageReader) -> dict[str, Any]:
    return service.describe(store)


@router.post("/mode")
async def set_mode(body: ModeChange, store: StoreDep, principal: StorageAdmin) -> dict[str, Any]:
    return await service.change_mode(store, mode=body.mode, confirm=body.confirm, actor=principal)


@router.get("/info")
async def info(store: StoreDep, _: AnyPrincipal) -> dict[str, Any]:
    async with store.sessions() as session:
        count, _used = await repo.totals(session)
        gen = await repo.active(session)
    capacity = await store.capacity.snapshot()
    return {
        "id": store.se_id,
        "name": store.settings.name,
        "mode": store.mode.current,
        "allowed_operations": allowed_operations(store.mode.current),
        "backend": store.backend.kind,
        "capacity": capacity,
        "file_count": count,
        "priority": store.settings.priority,
        "version": __version__,
        "feed_epoch": gen.feed_epoch if gen else None,
        "last_seq": gen.last_seq if gen else 0,
    }
