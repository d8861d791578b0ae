"""``/api/v1/users`` (ADMIN), ``/api/v1/users/me`` and the caller's own password."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from admin_module.audit.schemas import actor_of
from admin_module.deps import AdminDep, ContextDep, SessionDep, SettingsDep, StateDep
from admin_module.users import service
from admin_module.users.schemas import (
    PasswordChange,
    Role,
    Source,
    Status,
    UserCreate,
    UserOut,
    UserPage,
    UserUpdate,
)
from shared.auth import PrincipalDep

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", response_model=UserOut)
async def read_me(session: SessionDep, principal: PrincipalDep) -> UserOut:
    return await service.me(session, principal)


@router.post("/me/password", status_code=204)
async def change_my_password(
    body: PasswordChange,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    state: StateDep,
    ctx: ContextDep,
) -> Response:
    await service.change_own_password(
        session,
        hasher=state.hasher,
        settings=settings,
        principal=principal,
        body=body,
        actor=actor_of(principal),
        ctx=ctx,
    )
    return Response(status_code=204)


@router.get("", response_model=UserPage)
async def list_users(
    session: SessionDep,
    _: AdminDep,
    role: Role | None = None,
    status: Status | None = None,
    source: Source | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> UserPage:
    return await service.list_users(
        session, role=role, status=status, source=source, q=q, cursor=cursor, limit=limit
    )


@router.post("", response_model=UserOut, status_code=201)
async def create_user(
    body: UserCreate,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    state: StateDep,
    ctx: ContextDep,
) -> UserOut:
    row = await service.create_local(
        session, hasher=state.hasher, settings=settings, body=body, actor=actor_of(principal), ctx=ctx
    )
    return service.to_out(row)


@router.get("/{user_id}", response_model=UserOut)
async def read_user(user_id: uuid.UUID, session: SessionDep, _: AdminDep) -> UserOut:
    return await service.get_user(session, user_id)


@router.patch("/{user_id}", response_model=UserOut)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, session: SessionDep, principal: AdminDep, ctx: ContextDep
) -> UserOut:
    return await service.update_user(session, user_id=user_id, body=body, actor=actor_of(principal), ctx=ctx)


@router.delete("/{user_id}", status_code=204)
async def delete_user(
    user_id: uuid.UUID, session: SessionDep, principal: AdminDep, ctx: ContextDep
) -> Response:
    await service.delete_user(session, user_id=user_id, actor=actor_of(principal), ctx=ctx)
    return Response(status_code=204)


@router.post("/{user_id}/unlock", response_model=UserOut)
async def unlock_user(
    user_id: uuid.UUID, session: SessionDep, principal: AdminDep, ctx: ContextDep
) -> UserOut:
    return await service.unlock_user(session, user_id=user_id, actor=actor_of(principal), ctx=ctx)
