"""Registry endpoints (API.md "admin_module"): operators' and the fleet's internal ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from admin_module.audit.schemas import Actor
from admin_module.deps import ContextDep, SessionDep
from admin_module.storage_elements import service
from admin_module.storage_elements.schemas import (
    FleetView,
    Heartbeat,
    ModeChange,
    RegisterByUrl,
    SelfRegistration,
    Snapshot,
    StorageElementList,
    StorageElementOut,
    StorageElementPatch,
)
from shared.auth import Principal, PrincipalDep, require_service
from shared.errors import Forbidden

router = APIRouter(tags=["storage elements"])


def _operator_or_scope(scope: str) -> Any:
    """People need OPERATOR or higher; service accounts need ``scope``."""

    async def check(principal: PrincipalDep) -> Principal:
        allowed = principal.at_least("OPERATOR") if principal.kind == "user" else principal.has_scope(scope)
        if not allowed:
            raise Forbidden(f"requires OPERATOR or the {scope} scope")
        return principal

    return check


Reader = Annotated[Principal, Depends(_operator_or_scope("storage:read"))]
Operator = Annotated[Principal, Depends(_operator_or_scope("storage:admin"))]
AnyService = Annotated[Principal, Depends(require_service())]
Registrar = Annotated[Principal, Depends(require_service("storage:register"))]


def actor_of(principal: Principal) -> Actor:
    return Actor(id=principal.subject, username=principal.username, kind=principal.kind)


def forwarded(result: service.Forwarded) -> Response:
    return JSONResponse(result.body, status_code=result.status, media_type=result.media_type or None)


@router.get("/api/v1/storage-elements", response_model=StorageElementList)
async def list_storage_elements(session: SessionDep, _: Reader) -> StorageElementList:
    items = await service.list_all(session)
    return StorageElementList(items=items, total=len(items))


@router.post("/api/v1/storage-elements", response_model=StorageElementOut, status_code=201)
async def register_storage_element(
    body: RegisterByUrl,
    request: Request,
    response: Response,
    session: SessionDep,
    ctx: ContextDep,
    who: Operator,
) -> StorageElementOut:
    out, created, version = await service.register(
        session, request.app.state.se_client, url=str(body.url), actor=actor_of(who), ctx=ctx
    )
    request.app.state.registry_publisher.request(version)
    response.status_code = 201 if created else 200
    return out


@router.get("/api/v1/storage-elements/{se_id}", response_model=StorageElementOut)
async def read_storage_element(se_id: str, session: SessionDep, _: Reader) -> StorageElementOut:
    return service.to_out(await service.get(session, se_id))


@router.patch("/api/v1/storage-elements/{se_id}", response_model=StorageElementOut)
async def update_storage_element(
    se_id: str,
    body: StorageElementPatch,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    who: Operator,
) -> StorageElementOut:
    out, version = await service.patch(
        session, se_id, name=body.name, priority=body.priority, actor=actor_of(who), ctx=ctx
    )
    request.app.state.registry_publisher.request(version)
    return out


@router.delete("/api/v1/storage-elements/{se_id}", status_code=204)
async def remove_storage_element(
    se_id: str, request: Request, session: SessionDep, ctx: ContextDep, who: Operator
) -> Response:
    version = await service.remove(session, request.app.state.se_client, se_id, actor=actor_of(who), ctx=ctx)
    request.app.state.registry_publisher.request(version)
    return Response(status_code=204)


@router.post("/api/v1/storage-elements/{se_id}/mode")
async def change_mode(
    se_id: str, body: ModeChange, request: Request, session: SessionDep, ctx: ContextDep, who: Operator
) -> Response:
    result, version = await service.change_mode(
        session,
        request.app.state.se_client,
        se_id,
        body=body.model_dump(exclude_none=True),
        actor=actor_of(who),
        ctx=ctx,
    )
    request.app.state.registry_publisher.request(version)
    return forwarded(result)


def _maintenance_route(kind: str) -> None:
    """One explicit route per job kind, as in API.md (so each is its own OpenAPI operation)."""

    async def start(
        se_id: str, request: Request, session: SessionDep, ctx: ContextDep, who: Operator
    ) -> Response:
        result = await service.maintenance(
            session, request.app.state.se_client, se_id, kind, actor=actor_of(who), ctx=ctx
        )
        return forwarded(result)

    router.add_api_route(
        f"/api/v1/storage-elements/{{se_id}}/maintenance/{kind}",
        start,
        methods=["POST"],
        status_code=202,
        name=f"start_{kind}",
        summary=f"Start a {kind} job on the storage element (forwarded to it)",
    )


for _kind in service.MAINTENANCE_KINDS:
    _maintenance_route(_kind)


@router.get("/api/v1/storage-elements/{se_id}/maintenance/jobs/{job_id}")
async def maintenance_job(
    se_id: str, job_id: str, request: Request, session: SessionDep, _: Operator
) -> Response:
    return forwarded(await service.job(session, request.app.state.se_client, se_id, job_id))


@router.get("/api/v1/fleet", response_model=FleetView)
async def fleet_view(request: Request, session: SessionDep, _: Reader) -> FleetView:
    settings = request.app.state.settings
    return await service.fleet(
        session,
        stale_after=timedelta(seconds=settings.heartbeat_stale_seconds),
        forget_after=timedelta(seconds=settings.heartbeat_forget_seconds),
    )


@router.get("/internal/v1/storage-elements", response_model=Snapshot)
async def internal_snapshot(session: SessionDep, _: AnyService) -> dict[str, Any]:
    return await service.snapshot(session)


@router.post("/internal/v1/heartbeats", status_code=204)
async def receive_heartbeat(body: Heartbeat, session: SessionDep, _: AnyService) -> Response:
    await service.heartbeat(session, body.model_dump())
    return Response(status_code=204)


@router.post("/internal/v1/storage-elements/register", response_model=StorageElementOut)
async def self_register(
    body: SelfRegistration,
    request: Request,
    response: Response,
    session: SessionDep,
    ctx: ContextDep,
    who: Registrar,
) -> StorageElementOut:
    out, created, version = await service.register(
        session,
        request.app.state.se_client,
        url=str(body.url),
        claimed_id=body.id,
        actor=actor_of(who),
        ctx=ctx,
    )
    request.app.state.registry_publisher.request(version)
    response.status_code = 201 if created else 200
    return out
