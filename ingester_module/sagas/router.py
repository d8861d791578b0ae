"""``GET /api/v1/sagas/{id}`` and ``POST /api/v1/batch``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ingester_module.deps import SagasDep
from ingester_module.sagas import service
from ingester_module.sagas.schemas import BatchAccepted, BatchRequest, BatchResult, SagaView
from shared.auth import PrincipalDep
from shared.db import SessionDep

router = APIRouter(prefix="/api/v1", tags=["sagas"])


@router.get("/sagas/{saga_id}")
async def get_saga(saga_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> SagaView:
    return await service.view(session, principal, saga_id)


@router.post("/batch", status_code=202)
async def batch(
    body: BatchRequest, principal: PrincipalDep, session: SessionDep, sagas: SagasDep
) -> BatchAccepted:
    results = await sagas.batch(session, principal, body)
    sagas.wake()
    return BatchAccepted(results=[BatchResult(**r) for r in results])
