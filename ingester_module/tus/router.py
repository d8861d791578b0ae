"""tus 1.0 endpoints at ``/api/v1/tus/`` (protocol in :mod:`ingester_module.tus.service`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ingester_module.deps import TusDep
from ingester_module.tus.service import (
    EXTENSIONS,
    OFFSET_TYPE,
    VERSION,
    BadTusRequest,
    UnsupportedVersion,
    WrongContentType,
    parse_checksum,
)
from shared.auth import PrincipalDep
from shared.db import SessionDep

router = APIRouter(prefix="/api/v1/tus", tags=["tus"])


def _check_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != VERSION:
        raise UnsupportedVersion("Tus-Resumable: 1.0.0 is required")


def _offset_body(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype != OFFSET_TYPE:
        raise WrongContentType(f"Content-Type must be {OFFSET_TYPE}")
    return ctype == OFFSET_TYPE


@router.options("", include_in_schema=False)
@router.options("/", include_in_schema=False)
@router.options("/{upload_id}", include_in_schema=False)
async def options(request: Request, tus: TusDep) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": VERSION,
            "Tus-Version": VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(tus.uploader.max_bytes),
            "Tus-Checksum-Algorithm": "sha256",
        },
    )


@router.post("", status_code=201, include_in_schema=False)
@router.post("/", status_code=201)
async def create(request: Request, principal: PrincipalDep, session: SessionDep, tus: TusDep) -> Response:
    _check_version(request)
    state = await tus.create(
        principal, request.headers.get("upload-length"), request.headers.get("upload-metadata")
    )
    offset = 0
    if _offset_body(request):  # creation-with-upload
        checksum = parse_checksum(request.headers.get("upload-checksum"))
        state, offset = await tus.append(state, 0, request.stream(), checksum, session)
    elif state.length == 0:
        state = await tus.complete(state, session)
    headers = tus.headers(state, offset)
    headers["Location"] = f"{request.url.path.rstrip('/')}/{state.id}"
    return Response(status_code=201, headers=headers)


@router.head("/{upload_id}")
async def head(upload_id: str, request: Request, principal: PrincipalDep, tus: TusDep) -> Response:
    _check_version(request)
    state = await tus.load(principal, upload_id)
    headers = tus.headers(state, tus.store.offset(state))
    headers["Upload-Length"] = str(state.length)
    return Response(status_code=200, headers=headers)


@router.patch("/{upload_id}")
async def patch(
    upload_id: str, request: Request, principal: PrincipalDep, session: SessionDep, tus: TusDep
) -> Response:
    _check_version(request)
    if not _offset_body(request):
        raise WrongContentType(f"Content-Type must be {OFFSET_TYPE}")
    state = await tus.load(principal, upload_id)
    offset_header = request.headers.get("upload-offset", "")
    if not offset_header.isdigit():
        raise BadTusRequest("Upload-Offset is required")
    if state.completed:
        return Response(status_code=204, headers=tus.headers(state, state.length))
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    state, offset = await tus.append(state, int(offset_header), request.stream(), checksum, session)
    return Response(status_code=204, headers=tus.headers(state, offset))


@router.delete("/{upload_id}", status_code=204)
async def terminate(upload_id: str, request: Request, principal: PrincipalDep, tus: TusDep) -> Response:
    _check_version(request)
    await tus.terminate(principal, upload_id)
    return Response(status_code=204, headers={"Tus-Resumable": VERSION})
