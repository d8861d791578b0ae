"""``POST /api/v1/files`` (multipart) and ``PUT /api/v1/files?filename=`` (raw body)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ingester_module.deps import UploaderDep
from ingester_module.errors import AttributesNotApplied
from ingester_module.uploads import service
from ingester_module.uploads.multipart import MultipartReader
from ingester_module.uploads.schemas import LateFields, check_filename, parse_fields
from shared.auth import PrincipalDep
from shared.db import SessionDep
from shared.errors import problem

router = APIRouter(prefix="/api/v1/files", tags=["uploads"])

_MULTIPART_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "description": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "metadata": {"type": "string", "description": "a JSON object"},
                        "retention_policy": {"type": "string", "enum": ["temporary", "permanent"]},
                        "ttl_days": {"type": "integer"},
                        "retain_until": {"type": "string", "format": "date-time"},
                    },
                }
            }
        },
    }
}


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


@router.post("", status_code=201, openapi_extra=_MULTIPART_DOC)
async def upload_multipart(
    request: Request, principal: PrincipalDep, session: SessionDep, uploader: UploaderDep
) -> JSONResponse:
    service.check_can_upload(principal)
    declared = _content_length(request)
    service.check_declared_size(declared, uploader.max_bytes + 64 * 1024)
    reader = MultipartReader(request.stream(), request.headers.get("content-type", ""))
    raw, part = await reader.read_until_file()
    fields = parse_fields(raw)
    late = LateFields(raw, fields, uploader.default_ttl_days)
    reader.on_late_fields = late.accept
    source = service.Source(
        part.chunks, check_filename(part.filename), part.content_type, reserve=declared, via="multipart"
    )
    try:
        stored = await service.upload(
            uploader=uploader, session=session, principal=principal, fields=fields, source=source, late=late
        )
    except AttributesNotApplied as exc:
        # The file is committed on its SE: answer the error, but return it rather than
        # raise it so the unit of work still commits the upload's audit event.
        return problem(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers, **exc.extra)
    return JSONResponse(stored, status_code=201)


@router.put("", status_code=201)
async def upload_raw(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    uploader: UploaderDep,
    filename: str = Query(min_length=1),
    description: str | None = None,
    tags: list[str] = Query(default=[]),  # not default_factory (pydantic inspects it per request)
    metadata: str | None = None,
    retention_policy: str | None = None,
    ttl_days: str | None = None,
    retain_until: str | None = None,
) -> JSONResponse:
    service.check_can_upload(principal)
    raw = {
        k: [v]
        for k, v in {
            "description": description,
            "metadata": metadata,
            "retention_policy": retention_policy,
            "ttl_days": ttl_days,
            "retain_until": retain_until,
        }.items()
        if v is not None
    }
    fields = parse_fields({**raw, "tags": tags})
    length = _content_length(request)
    service.check_declared_size(length, uploader.max_bytes)
    source = service.Source(
        request.stream(),
        check_filename(filename),
        request.headers.get("content-type"),
        length=length,
        expected_sha256=request.headers.get("x-artstore-expected-sha256"),
        via="raw",
    )
    stored = await service.upload(
        uploader=uploader, session=session, principal=principal, fields=fields, source=source
    )
    return JSONResponse(stored, status_code=201)
