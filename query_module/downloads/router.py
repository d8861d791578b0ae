"""``GET/HEAD /api/v1/files/{id}/download`` and ``POST /api/v1/files/{id}/download-link``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response, StreamingResponse
from starlette.types import Send

from query_module.access import ReaderDep
from query_module.catalog.reader import read_file
from query_module.catalog.schemas import DownloadLink
from query_module.downloads import links
from query_module.downloads.service import auditor, open_download
from shared.auth import Principal
from shared.db import unit_of_work
from shared.errors import Forbidden, Unauthorized

router = APIRouter(tags=["downloads"])
_bearer = HTTPBearer(auto_error=False)


class ClosingStream(StreamingResponse):
    """Closes its body however the response ends: when sending to a client that went away
    fails or is cancelled, Starlette leaves the body generator suspended, and its cleanup
    (the download's audit event with the bytes sent) would wait for the garbage collector."""

    def __init__(self, body: AsyncGenerator[bytes, None], **kwargs: Any) -> None:
        super().__init__(body, **kwargs)
        self.body_generator = body

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_generator.aclose()


async def download_principal(
    request: Request,
    file_id: str,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    link: str | None = None,
) -> Principal:
    """A bearer token with ``files:read``, or a signed link for this very file."""
    if link:
        return links.verify(links.secret_of(request.app.state.settings), link, file_id)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token or signed link")
    principal: Principal = await request.app.state.verifier.verify(credentials.credentials)
    if not principal.has_scope("files:read"):
        raise Forbidden("missing scope: files:read")
    request.state.principal = principal
    return principal


@router.get("/api/v1/files/{file_id}/download", response_model=None)
@router.head("/api/v1/files/{file_id}/download", response_model=None)
async def download(
    file_id: str, request: Request, principal: Annotated[Principal, Depends(download_principal)]
) -> Response:
    """The file's bytes from the preferred copy (Range, ETag, verified when whole)."""
    state = request.app.state

    async def reload() -> dict[str, Any]:
        async with unit_of_work(state.sessions) as session:
            return await read_file(session=session, cache=state.cache, principal=principal, file_id=file_id)

    file = await reload()
    audit = auditor(
        state.sessions,
        state.outbox,
        principal=principal,
        file_id=file_id,
        client_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    result = await open_download(
        state.storage, file, method=request.method, headers=dict(request.headers), audit=audit, reload=reload
    )
    if result.body is None:
        return Response(status_code=result.status, headers=result.headers)
    return ClosingStream(result.body, status_code=result.status, headers=result.headers)


@router.post("/api/v1/files/{file_id}/download-link", response_model=DownloadLink)
async def download_link(file_id: str, request: Request, principal: ReaderDep) -> dict[str, str]:
    """A URL that downloads this file without an Authorization header, for a few minutes."""
    state = request.app.state
    async with unit_of_work(state.sessions) as session:
        await read_file(session=session, cache=state.cache, principal=principal, file_id=file_id)
    base = state.settings.public_url or str(request.base_url)
    return links.make_link(state.settings, base, file_id, principal)
