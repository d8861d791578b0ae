"""``/.well-known/jwks.json``, ``GET /api/v1/keys``, ``POST /api/v1/keys/rotate``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from admin_module.audit.schemas import actor_of
from admin_module.deps import AdminDep, ContextDep, SessionDep, StateDep
from admin_module.keys import service
from admin_module.keys.schemas import KeyList, KeyOut

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json")
async def jwks(session: SessionDep, state: StateDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=60"
    result: dict[str, Any] = await state.key_ring.jwks(session)
    return result


@router.get("/api/v1/keys", response_model=KeyList)
async def list_keys(session: SessionDep, _: AdminDep) -> KeyList:
    return await service.list_keys(session)


@router.post("/api/v1/keys/rotate", response_model=KeyOut, status_code=201)
async def rotate_key(session: SessionDep, state: StateDep, principal: AdminDep, ctx: ContextDep) -> KeyOut:
    return await service.rotate(session, ring=state.key_ring, actor=actor_of(principal), ctx=ctx)
