"""``/api/v1/service-accounts`` (ADMIN)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from admin_module.audit.schemas import actor_of
from admin_module.deps import AdminDep, ContextDep, SessionDep, SettingsDep, StateDep
from admin_module.service_accounts import service
from admin_module.service_accounts.schemas import (
    AccountStatus,
    ServiceAccountCreate,
    ServiceAccountOut,
    ServiceAccountPage,
    ServiceAccountUpdate,
    ServiceAccountWithSecret,
)

router = APIRouter(prefix="/api/v1/service-accounts", tags=["service accounts"])


@router.get("", response_model=ServiceAccountPage)
async def list_accounts(
    session: SessionDep,
    _: AdminDep,
    status: AccountStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ServiceAccountPage:
    return await service.list_accounts(session, status=status, cursor=cursor, limit=limit)


@router.post("", response_model=ServiceAccountWithSecret, status_code=201)
async def create_account(
    body: ServiceAccountCreate,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    state: StateDep,
    ctx: ContextDep,
) -> ServiceAccountWithSecret:
    return await service.create(
        session, hasher=state.hasher, settings=settings, body=body, actor=actor_of(principal), ctx=ctx
    )


@router.get("/{account_id}", response_model=ServiceAccountOut)
async def read_account(account_id: uuid.UUID, session: SessionDep, _: AdminDep) -> ServiceAccountOut:
    return await service.get(session, account_id)


@router.patch("/{account_id}", response_model=ServiceAccountOut)
async def update_account(
    account_id: uuid.UUID,
    body: ServiceAccountUpdate,
    session: SessionDep,
    principal: AdminDep,
    ctx: ContextDep,
) -> ServiceAccountOut:
    return await service.update(session, account_id=account_id, body=body, actor=actor_of(principal), ctx=ctx)


@router.delete("/{account_id}", status_code=204)
async def delete_account(
    account_id: uuid.UUID, session: SessionDep, principal: AdminDep, ctx: ContextDep
) -> Response:
    await service.delete(session, account_id=account_id, actor=actor_of(principal), ctx=ctx)
    return Response(status_code=204)


@router.post("/{account_id}/rotate-secret", response_model=ServiceAccountWithSecret)
async def rotate_secret(
    account_id: uuid.UUID,
    session: SessionDep,
    principal: AdminDep,
    settings: SettingsDep,
    state: StateDep,
    ctx: ContextDep,
) -> ServiceAccountWithSecret:
    return await service.rotate_secret(
        session,
        hasher=state.hasher,
        settings=settings,
        account_id=account_id,
        actor=actor_of(principal),
        ctx=ctx,
    )
