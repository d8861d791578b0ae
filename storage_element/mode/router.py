"""``/api/v1/mode`` and ``/api/v1/info``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from storage_element.deps import AnyPrincipal, StorageAdmin, StorageReader, StoreDep
from storage_element.mode import service

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
    return await service.info(store)
