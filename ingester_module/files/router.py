"""File changes: metadata PATCH (synchronous, every copy) and the saga-backed operations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ingester_module.deps import FilesDep, SagasDep
from ingester_module.files import service
from ingester_module.sagas.schemas import FinalizeRequest, SagaAccepted, TransferRequest
from ingester_module.uploads.schemas import FileUpdate
from shared.auth import PrincipalDep
from shared.db import SessionDep

router = APIRouter(prefix="/api/v1/files", tags=["files"])


@router.patch("/{file_id}")
async def update_file(
    file_id: str, changes: FileUpdate, principal: PrincipalDep, session: SessionDep, files: FilesDep
) -> dict[str, Any]:
    return await service.update(
        files=files, session=session, principal=principal, file_id=file_id, changes=changes
    )


@router.post("/{file_id}/finalize", status_code=202)
async def finalize(
    file_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    sagas: SagasDep,
    body: FinalizeRequest | None = None,
) -> SagaAccepted:
    saga_id = await sagas.finalize(session, principal, file_id, body.retain_until if body else None)
    sagas.wake()
    return SagaAccepted(saga_id=str(saga_id))


@router.post("/{file_id}/transfer", status_code=202)
async def transfer(
    file_id: str, body: TransferRequest, principal: PrincipalDep, session: SessionDep, sagas: SagasDep
) -> SagaAccepted:
    saga_id = await sagas.transfer(session, principal, file_id, body.target_storage_element_id)
    sagas.wake()
    return SagaAccepted(saga_id=str(saga_id))


@router.delete("/{file_id}", status_code=202)
async def delete_file(
    file_id: str, principal: PrincipalDep, session: SessionDep, sagas: SagasDep
) -> SagaAccepted:
    saga_id = await sagas.delete(session, principal, file_id)
    sagas.wake()
    return SagaAccepted(saga_id=str(saga_id))
