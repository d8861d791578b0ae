"""``GET /api/v1/stats``: dashboard figures for operators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from query_module.catalog import repository as catalog
from query_module.stats import repository as repo
from shared.auth import Principal, require_role
from shared.db import SessionDep

router = APIRouter(tags=["stats"])


@router.get("/api/v1/stats")
async def stats(
    session: SessionDep, _: Annotated[Principal, Depends(require_role("OPERATOR"))]
) -> dict[str, Any]:
    """Files and bytes per SE, per mode and per retention policy; uploads per day for 30
    days; the 20 latest uploads (as file records)."""
    return {
        "totals": await repo.totals(session),
        "storage_elements": await repo.per_storage_element(session),
        "modes": await repo.per_mode(session),
        "retention_policies": await repo.per_retention(session),
        "uploads_per_day": await repo.uploads_per_day(session),
        "latest_uploads": await catalog.records(session, await repo.latest(session)),
    }
