"""``/api/v1/maintenance``: reindex, consistency and scrub as background jobs (202)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from storage_element.deps import StorageAdmin, StoreDep
from storage_element.jobs.consistency import consistency
from storage_element.jobs.registry import Jobs, Progress
from storage_element.jobs.reindex import reindex
from storage_element.jobs.scrub import scrub

router = APIRouter(prefix="/api/v1/maintenance", tags=["maintenance"])


def _jobs(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


@router.post("/reindex", status_code=202)
async def start_reindex(request: Request, store: StoreDep, _: StorageAdmin) -> dict[str, str]:
    return {"job_id": _jobs(request).start("reindex", lambda p: reindex(store, p)).id}


@router.post("/consistency", status_code=202)
async def start_consistency(request: Request, store: StoreDep, _: StorageAdmin) -> dict[str, str]:
    return {"job_id": _jobs(request).start("consistency", lambda p: consistency(store, p)).id}


@router.get("/consistency")
async def run_consistency(store: StoreDep, _: StorageAdmin) -> dict[str, Any]:
    return await consistency(store)


@router.post("/scrub", status_code=202)
async def start_scrub(
    request: Request, store: StoreDep, _: StorageAdmin, mib_per_second: float | None = None
) -> dict[str, str]:
    def run(progress: Progress) -> Any:
        return scrub(store, progress, mib_per_second=mib_per_second)

    return {"job_id": _jobs(request).start("scrub", run).id}


@router.get("/jobs/{job_id}")
async def job(job_id: str, request: Request, _: StorageAdmin) -> dict[str, Any]:
    return _jobs(request).get(job_id).view()
