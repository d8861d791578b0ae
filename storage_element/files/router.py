"""``/api/v1/files``: thin handlers over :mod:`.service` (API.md "storage_element")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from shared.auth import Principal
from storage_element.deps import Reader, StoreDep, Writer, service_scope
from storage_element.files import service
from storage_element.files.content import respond
from storage_element.files.schemas import FileList, FilePatch, FileRecord, VerifyResult

router = APIRouter(prefix="/api/v1/files", tags=["files"])
AnyService = Annotated[Principal, Depends(service_scope())]


@router.put(
    "/{file_id}",
    status_code=201,
    response_model=FileRecord,
    responses={200: {"model": FileRecord, "description": "the same content exists"}},
)
async def upload(file_id: str, request: Request, store: StoreDep, principal: Writer) -> JSONResponse:
    headers = {k.lower(): v for k, v in request.headers.items()}
    record, created = await service.upload(
        store, file_id=file_id, principal=principal, chunks=request.stream(), headers=headers
    )
    return JSONResponse(
        FileRecord.model_validate(record).model_dump(mode="json"), status_code=201 if created else 200
    )


@router.get("", response_model=FileList)
async def list_files(
    store: StoreDep,
    _: Reader,
    q: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return await service.list_records(store, q=q, cursor=cursor, limit=limit)


@router.get("/{file_id}", response_model=FileRecord)
async def get_record(file_id: str, store: StoreDep, _: Reader) -> dict[str, Any]:
    return service.to_record(store, await service.get(store, file_id))


@router.get("/{file_id}/content", response_class=Response, operation_id="get_file_content")
@router.head("/{file_id}/content", response_class=Response, operation_id="head_file_content")
async def content(file_id: str, request: Request, store: StoreDep, _: Reader) -> Response:
    return await respond(store, await service.get(store, file_id), request)


@router.post("/{file_id}/verify", response_model=VerifyResult)
async def verify(file_id: str, store: StoreDep, principal: Reader) -> dict[str, Any]:
    return await service.verify(store, file_id, principal)


@router.patch("/{file_id}", response_model=FileRecord)
async def patch(file_id: str, body: FilePatch, store: StoreDep, principal: Writer) -> dict[str, Any]:
    return await service.patch(store, file_id, body.changes(), principal)


@router.delete("/{file_id}", status_code=204, response_class=Response)
async def delete(
    file_id: str,
    store: StoreDep,
    principal: AnyService,
    reason: str | None = None,
    target: str | None = None,
    sha256: str | None = None,
) -> Response:
    await service.delete(store, file_id, principal, reason=reason, target=target, sha256=sha256)
    return Response(status_code=204)
