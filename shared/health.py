"""``/health/live`` and ``/health/ready`` with pluggable dependency checks.

A check returns nothing when its dependency answers and raises when it does not. A failed
*required* check makes readiness ``fail`` (503); a failed *optional* one (Redis, LDAP)
makes it ``degraded`` (200): the service still works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[None]]


@dataclass
class HealthCheck:
    name: str
    check: Check
    required: bool = True
    timeout: float = 3.0


class HealthRegistry:
    def __init__(self) -> None:
        self.checks: list[HealthCheck] = []

    def add(self, name: str, check: Check, *, required: bool = True, timeout: float = 3.0) -> None:
        self.checks.append(HealthCheck(name, check, required, timeout))

    async def _run(self, item: HealthCheck) -> tuple[HealthCheck, dict[str, Any]]:
        try:
            await asyncio.wait_for(item.check(), item.timeout)
        except Exception as exc:
            status = "fail" if item.required else "degraded"
            return item, {"status": status, "detail": f"{type(exc).__name__}: {exc}"[:300]}
        return item, {"status": "ok", "detail": None}

    async def report(self) -> tuple[str, dict[str, Any]]:
        results = await asyncio.gather(*(self._run(c) for c in self.checks))
        checks = {item.name: result for item, result in results}
        statuses = {r["status"] for r in checks.values()}
        overall = "fail" if "fail" in statuses else "degraded" if "degraded" in statuses else "ok"
        return overall, checks


router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    registry: HealthRegistry = request.app.state.health
    overall, checks = await registry.report()
    return JSONResponse({"status": overall, "checks": checks}, status_code=503 if overall == "fail" else 200)
