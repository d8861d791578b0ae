"""Maintenance jobs run in the background of this process; ``GET .../jobs/{id}`` reports
``{"state": "running"|"done"|"failed", "progress", "report"}``.

An SE is one process owning its root, so the registry is in memory; a job lost with a
restart is simply started again (every job is idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from storage_element.errors import FileNotFound

log = logging.getLogger("artstore.storage_element.jobs")
Progress = Callable[[dict[str, Any]], None]


@dataclass
class Job:
    id: str
    kind: str
    state: str = "running"
    progress: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    task: asyncio.Task[None] | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": self.progress,
            "report": self.report,
        }


class Jobs:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}

    def start(self, kind: str, run: Callable[[Progress], Awaitable[dict[str, Any]]]) -> Job:
        job = Job(uuid.uuid4().hex, kind)
        self.jobs[job.id] = job

        async def body() -> None:
            try:
                job.report = await run(job.progress.update)
                job.state = "done"
            except Exception as exc:
                log.exception("job_failed", extra={"job": job.id, "kind": kind})
                job.state, job.report = "failed", {"error": repr(exc)[:500]}

        job.task = asyncio.create_task(body(), name=f"job-{kind}-{job.id}")
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise FileNotFound(f"no job {job_id}")
        return job

    async def close(self) -> None:
        for job in self.jobs.values():
            if job.task and not job.task.done():
                job.task.cancel()
        await asyncio.gather(*(j.task for j in self.jobs.values() if j.task), return_exceptions=True)
