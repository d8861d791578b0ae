"""The audit outbox against an admin that refuses one event for good: that event is parked
(kept, logged, counted, not resent) and every other one is delivered, in order. Statuses
about auth or load (401, 403, 408, 429) and 5xx are retried, never parked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from admin_module.audit.schemas import EventBatch
from shared.db import create_engine, migrate, session_factory, unit_of_work
from shared.http import create_http_client
from shared.outbox import OutboxDeliverer, audit_event, outbox_table, record
from shared.service_token import ServiceTokenProvider
from tests.shared.conftest import serve

MIGRATIONS = Path(__file__).resolve().parents[2] / "storage_element" / "migrations"


@dataclass
class AuditEndpoint:
    """The admin's token grant and audit batch endpoint, validating with the admin's own
    schema (an unreadable event makes the whole batch a 422, as the admin answers)."""

    answer: int | None = None  # a status to answer instead of accepting
    batches: list[list[str]] = field(default_factory=list)
    received: list[str] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/auth/token")
        async def token() -> dict[str, Any]:
            return {"access_token": "service-token", "token_type": "Bearer", "expires_in": 600}

        @app.post("/internal/v1/audit-events", response_model=None)
        async def events(body: EventBatch) -> JSONResponse | dict[str, int]:
            if self.answer is not None:
                return JSONResponse({"detail": "not now"}, status_code=self.answer)
            ids = [str(e.id) for e in body.events]
            self.batches.append(ids)
            self.received += [i for i in ids if i not in self.received]
            return {"accepted": len(ids), "duplicates": 0}

        return app


@dataclass
class Outbox:
    deliverer: OutboxDeliverer
    engine: Any
    registry: CollectorRegistry

    async def add(self, **overrides: Any) -> str:
        event = {**audit_event(service="storage_element", action="file.read"), **overrides}
        async with unit_of_work(session_factory(self.engine)) as session:
            await record(session, event)
        return str(event["id"])

    async def row(self, event_id: str) -> Any:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    sa.select(outbox_table).where(outbox_table.c.id == sa.cast(event_id, sa.Uuid))
                )
            ).one()

    def parked_total(self) -> float:
        return self.registry.get_sample_value("artstore_audit_events_parked_total") or 0.0


@asynccontextmanager
async def outbox(database_url: str, endpoint: AuditEndpoint) -> AsyncIterator[Outbox]:
    await migrate(database_url, MIGRATIONS)  # the service's real chain, parking column included
    engine = create_engine(database_url, pool_size=2)
    registry = CollectorRegistry()
    try:
        async with serve(endpoint.app()) as url, create_http_client(retries=0) as http:
            tokens = ServiceTokenProvider(
                http, f"{url}/api/v1/auth/token", "svc-storage", "s3cr3t-0123456789"
            )
            deliverer = OutboxDeliverer(session_factory(engine), http, tokens, url, registry=registry)
            yield Outbox(deliverer, engine, registry)
    finally:
        await engine.dispose()


async def test_an_event_refused_for_good_is_parked_and_the_rest_flow(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = AuditEndpoint()
    async with outbox(database_url, endpoint) as box:
        first = [await box.add(), await box.add()]
        bad = await box.add(action="")  # the admin's schema refuses an empty action: 422
        last = [await box.add(), await box.add()]
        with caplog.at_level(logging.ERROR, logger="artstore.outbox"):
            assert await box.deliverer.deliver_once() == 5
        assert endpoint.received == first + last  # in order, without the refused one
        parked = await box.row(bad)
        assert parked.failed_at is not None and parked.delivered_at is None
        assert "422" in parked.last_error and parked.attempts == 1
        for event_id in first + last:
            delivered = await box.row(event_id)
            assert delivered.delivered_at is not None and delivered.failed_at is None
        assert box.parked_total() == 1
        # Only the outbox's own records: other loggers (alembic's, once an app has set the root
        # logger to INFO in an earlier test) reach caplog too.
        records = [r for r in caplog.records if r.name == "artstore.outbox"]
        assert [r.getMessage() for r in records] == ["audit_event_parked"]
        assert records[0].event_id == bad  # type: ignore[attr-defined]

        # Parked means kept and not resent: the next events go out without it.
        later = await box.add()
        batches = len(endpoint.batches)
        assert await box.deliverer.deliver_once() == 1
        assert endpoint.batches[batches:] == [[later]]
        assert await box.deliverer.deliver_once() == 0

        # An operator queues it again by clearing failed_at; still refused, parked again.
        async with box.engine.begin() as conn:
            await conn.execute(
                sa.update(outbox_table).values(failed_at=None).where(outbox_table.c.failed_at.isnot(None))
            )
        assert await box.deliverer.deliver_once() == 1
        assert (await box.row(bad)).attempts == 2 and box.parked_total() == 2


@pytest.mark.parametrize("status", [401, 403, 408, 429, 503])
async def test_auth_load_and_server_errors_are_retried_not_parked(database_url: str, status: int) -> None:
    endpoint = AuditEndpoint(answer=status)
    async with outbox(database_url, endpoint) as box:
        event_id = await box.add()
        for attempt in (1, 2):
            with pytest.raises(Exception, match=str(status)):
                await box.deliverer.deliver_once()
            row = await box.row(event_id)
            assert row.failed_at is None and row.delivered_at is None
            assert row.attempts == attempt and str(status) in row.last_error
        endpoint.answer = None
        assert await box.deliverer.deliver_once() == 1
        assert endpoint.received == [event_id] and box.parked_total() == 0
