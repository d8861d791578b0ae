"""``/api/v1/audit-events`` (ADMIN) and ``/internal/v1/audit-events`` (services, ``audit:write``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from admin_module.audit import service
from admin_module.audit.schemas import BatchResult, EventBatch, EventPage, VerifyResult
from admin_module.deps import AdminDep, SessionDep
from shared.auth import Principal, require_service

router = APIRouter(tags=["audit"])


@router.get("/api/v1/audit-events", response_model=EventPage)
async def list_audit_events(
    session: SessionDep,
    _: AdminDep,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EventPage:
    return await service.list_events(
        session,
        actor=actor,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )


@router.get("/api/v1/audit-events/verify", response_model=VerifyResult)
async def verify_audit_chain(session: SessionDep, _: AdminDep) -> VerifyResult:
    return await service.verify(session)


@router.post("/internal/v1/audit-events", response_model=BatchResult)
async def receive_audit_events(
    body: EventBatch,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_service("audit:write"))],
) -> BatchResult:
    accepted, duplicates = await service.append(session, body.events, submitted_by=principal.username)
    return BatchResult(accepted=accepted, duplicates=duplicates)
