"""Saga workers: claim, run step by step, retry with backoff, compensate, finish.

Safe in every replica: a saga is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and
leased for ``lease`` seconds, renewed while it runs; progress is saved only while the
lease is held. A worker that dies (SIGKILL) stops renewing; when the lease runs out any
worker (after a restart, or another replica) resumes the saga at its first step not done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ingester_module.clients.storage import StorageClient, StorageError, StorageUnreachable
from ingester_module.errors import NoStorageAvailable
from ingester_module.placement.breaker import Breakers
from ingester_module.sagas import repository as repo
from ingester_module.sagas.steps import COMPENSATION, POINT_OF_NO_RETURN, STEPS, PermanentFailure, StepContext
from shared.auth import Principal
from shared.db import unit_of_work
from shared.discovery import Discovery
from shared.outbox import audit_event, record
from shared.tasks import cancel_and_wait

log = logging.getLogger("artstore.ingester.sagas")
SERVICE = "ingester_module"
TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504, 507}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, PermanentFailure):
        return False
    if isinstance(exc, StorageError):
        return exc.status in TRANSIENT_STATUSES or exc.code == "busy"
    # No SE can take the copy right now (down, full, breaker open): later one may.
    return isinstance(exc, StorageUnreachable | NoStorageAvailable | OSError | TimeoutError)


class LeaseLost(Exception):
    pass


def _step_attempts(saga: dict[str, Any], name: str) -> int:
    """Failed tries of step ``name`` since it last started afresh (kept in its step entry)."""
    entry: dict[str, Any] = next((s for s in saga["steps"] if s["name"] == name), {})
    return int(entry.get("attempts", 0))


class SagaWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        storage: StorageClient,
        discovery: Discovery,
        breakers: Breakers,
        interval: float = 1.0,
        lease: float = 60.0,
        max_attempts: int = 8,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        copy_bytes_per_second: float = 0,
    ) -> None:
        self.sessions = sessions
        self.storage = storage
        self.discovery = discovery
        self.breakers = breakers
        self.interval = interval
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.copy_bytes_per_second = copy_bytes_per_second
        self.owner = uuid.uuid4().hex
        self.after_step: Callable[[dict[str, Any], str], Awaitable[None]] | None = None  # a test seam
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                if await self.run_once():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("saga_worker_error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    async def run_once(self) -> bool:
        """Claim and run one due saga; False when none is due.

        The saga runs in its own task next to the lease holder: when the lease is lost
        (taken over, or not renewable before it runs out) only that task is cancelled,
        and this worker goes on with the next saga.
        """
        claimed_at = time.monotonic()
        async with unit_of_work(self.sessions) as session:
            saga = await repo.claim(session, self.owner, self.lease)
        if saga is None:
            return False
        runner = asyncio.create_task(self._execute(saga), name=f"saga-{saga['id']}")
        holder = asyncio.create_task(self._hold(saga["id"], claimed_at), name=f"saga-lease-{saga['id']}")
        try:
            done, _ = await asyncio.wait({runner, holder}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait([runner, holder])
        failure = runner.exception() if runner in done else LeaseLost(str(saga["id"]))
        if isinstance(failure, LeaseLost):
            log.warning("saga_lease_lost", extra={"saga_id": str(saga["id"])})
        elif failure is not None:
            raise failure
        return True

    async def _hold(self, saga_id: uuid.UUID, renewed_at: float) -> None:
        """Renew the lease until it is lost, then return (the caller stops the saga).

        A renewal that fails (database down, row locked) is retried; once the lease could
        run out before the next try, it counts as lost: the saga is stopped while no other
        worker can have claimed it yet, so it never runs twice at once.
        """
        delay = self.lease / 3
        while True:
            await asyncio.sleep(delay)
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.lease / 3), unit_of_work(self.sessions) as session:
                    held = await repo.renew(session, saga_id, self.owner, self.lease, wait=self.lease / 6)
            except Exception as exc:
                log.warning("saga_lease_renew_failed", extra={"saga_id": str(saga_id), "error": repr(exc)})
                if time.monotonic() - renewed_at >= self.lease * 2 / 3:
                    return
                delay = self.lease / 10
                continue
            if not held:
                return
            renewed_at, delay = started, self.lease / 3

    async def _save(self, saga: dict[str, Any], **values: Any) -> None:
        async with unit_of_work(self.sessions) as session:
            if not await repo.save(session, saga["id"], self.owner, **values):
                raise LeaseLost(str(saga["id"]))

    def _context(self, saga: dict[str, Any]) -> StepContext:
        ctx = StepContext(
            saga=saga,
            data=dict(saga["data"]),
            storage=self.storage,
            discovery=self.discovery,
            breakers=self.breakers,
            copy_bytes_per_second=self.copy_bytes_per_second,
        )

        async def persist() -> None:
            await self._save(saga, data=ctx.data)

        ctx.persist = persist
        return ctx

    async def _mark(self, saga: dict[str, Any], ctx: StepContext, name: str, state: str) -> None:
        entry: dict[str, Any] = {"name": name, "state": state, "at": repo.now().isoformat()}
        tried = _step_attempts(saga, name)
        if state == "running" and tried:
            entry["attempts"] = tried  # failed tries of this step so far; success resets them
        steps = [s for s in saga["steps"] if s["name"] != name]
        steps.append(entry)
        saga["steps"] = steps
        await self._save(saga, steps=steps, data=ctx.data)

    async def _execute(self, saga: dict[str, Any]) -> None:
        ctx = self._context(saga)
        compensating = saga["phase"] == "compensating"
        plan = COMPENSATION[saga["kind"]] if compensating else STEPS[saga["kind"]]
        done = {s["name"] for s in saga["steps"] if s["state"] == "done"}
        for name, step in plan:
            if name in done:
                continue
            await self._mark(saga, ctx, name, "running")
            try:
                await step(ctx)
            except (asyncio.CancelledError, LeaseLost):
                raise
            except Exception as exc:
                await self._failed(saga, ctx, name, exc)
                return
            await self._mark(saga, ctx, name, "done")
            if self.after_step is not None:
                await self.after_step(saga, name)
        await self._finish(saga, ctx, "compensated" if compensating else "completed")

    def _backoff(self, attempts: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** max(0, attempts - 1))
        return float(delay * (0.5 + random.random() / 2))  # noqa: S311 (jitter, not crypto)

    async def _failed(self, saga: dict[str, Any], ctx: StepContext, name: str, exc: Exception) -> None:
        attempts = _step_attempts(saga, name) + 1  # saga_max_attempts is per step
        error = f"{name}: {exc}"[:1000]
        log.warning("saga_step_failed", extra={"saga_id": str(saga["id"]), "step": name, "error": error})
        steps = [s for s in saga["steps"] if s["name"] != name]
        steps.append(
            {
                "name": name,
                "state": "failed",
                "at": repo.now().isoformat(),
                "detail": error,
                "attempts": attempts,
            }
        )
        saga["steps"] = steps
        done = {s["name"] for s in steps if s["state"] == "done"}
        retry = is_transient(exc) and attempts < self.max_attempts
        if retry or (
            saga["phase"] == "forward" and done & POINT_OF_NO_RETURN and attempts < self.max_attempts
        ):
            await self._save(
                saga,
                steps=steps,
                data=ctx.data,
                attempts=int(saga["attempts"]) + 1,
                last_error=error,
                next_attempt_at=repo.now() + timedelta(seconds=self._backoff(attempts)),
                lease_owner=None,
                lease_until=None,
            )
            return
        if saga["phase"] == "forward" and COMPENSATION[saga["kind"]] and not done & POINT_OF_NO_RETURN:
            await self._save(
                saga,
                steps=steps,
                data=ctx.data,
                phase="compensating",
                attempts=0,
                last_error=error,
                next_attempt_at=repo.now(),
                lease_owner=None,
                lease_until=None,
            )
            self.wake()
            return
        await self._finish(saga, ctx, "failed", error=error, steps=steps)

    async def _finish(
        self, saga: dict[str, Any], ctx: StepContext, state: str, *, error: str | None = None, **values: Any
    ) -> None:
        actor = Principal(
            subject=saga["actor"]["id"], username=saga["actor"]["username"], kind=saga["actor"]["kind"]
        )
        async with unit_of_work(self.sessions) as session:
            saved = await repo.save(
                session,
                saga["id"],
                self.owner,
                state=state,
                data=ctx.data,
                finished_at=repo.now(),
                lease_owner=None,
                lease_until=None,
                **({"last_error": error} if error else {}),
                **values,
            )
            if not saved:
                raise LeaseLost(str(saga["id"]))
            await record(
                session,
                audit_event(
                    service=SERVICE,
                    action=f"file.{saga['kind']}",
                    outcome="success" if state == "completed" else "failure",
                    actor=actor,
                    target=saga["file_id"],
                    details={
                        "saga_id": str(saga["id"]),
                        "state": state,
                        "source": ctx.data.get("source"),
                        "target": ctx.data.get("target"),
                        "copies": ctx.data.get("copies"),
                        "error": error or saga.get("last_error"),
                    },
                ),
            )
        log.info("saga_finished", extra={"saga_id": str(saga["id"]), "kind": saga["kind"], "state": state})
