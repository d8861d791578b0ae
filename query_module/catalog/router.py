"""``GET /api/v1/files/{file_id}`` (cached) and the catalog's operator endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request

from query_module.access import ReaderDep
from query_module.catalog import repository as repo
from query_module.catalog.reader import read_file
from query_module.catalog.schemas import FileRecord
from shared.auth import Principal, require_role
from shared.db import SessionDep

router = APIRouter(tags=["catalog"])


@router.get("/api/v1/files/{file_id}", response_model=FileRecord)
async def get_file(
    file_id: str, request: Request, session: SessionDep, principal: ReaderDep
) -> dict[str, Any]:
    """The file record (API.md), from the metadata cache."""
    return await read_file(
        session=session, cache=request.app.state.cache, principal=principal, file_id=file_id
    )


@router.get("/api/v1/catalog/feeds")
async def feeds(
    session: SessionDep, _: Annotated[Principal, Depends(require_role("OPERATOR"))]
) -> dict[str, Any]:
    """Per SE: feed epoch, last applied sequence number, mode, whether a sweep is pending."""
    return {"items": await repo.list_cursors(session)}


@router.post("/api/v1/catalog/rebuild", status_code=202)
async def rebuild(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    _: Annotated[Principal, Depends(require_role("ADMIN"))],
    storage_element_id: str | None = None,
) -> dict[str, Any]:
    """Full rebuild: reset the cursors; every SE (or one) is re-read from 0 and swept."""
    reset = await repo.reset_cursors(session, storage_element_id)
    background.add_task(request.app.state.feeds.wake, storage_element_id)  # after the commit
    return {"reset": reset}
