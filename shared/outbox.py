"""The transactional audit outbox (ARCHITECTURE.md section 4).

A service that does something security-relevant calls :func:`record` with the same
session as the action itself, so the event commits (or rolls back) with it. A background
:class:`OutboxDeliverer` sends pending events, oldest first, to the admin module's
``POST /internal/v1/audit-events`` (idempotent on each event id) and marks them
delivered. An admin outage delays delivery; it never blocks the action or loses an event.

An event the admin refuses for good (a 4xx other than 401, 403, 408 and 429, e.g. a 422
for an event it cannot read) would block every later one: the batch is then sent again
one event at a time, and each refused event is *parked* (``failed_at`` and ``last_error``
set, logged as ``audit_event_parked``, counted in ``artstore_audit_events_parked_total``).
A parked event stays in the table and is not sent again automatically; once the cause is
fixed, ``UPDATE audit_outbox SET failed_at = NULL WHERE ...`` queues it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal
from shared.db import insert_on_conflict, unit_of_work
from shared.logging import request_id_var
from shared.service_token import ServiceTokenProvider

log = logging.getLogger("artstore.outbox")

metadata = sa.MetaData()

outbox_table = sa.Table(
    "audit_outbox",
    metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("event", JSONB, nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("failed_at", sa.DateTime(timezone=True)),  # parked: refused for good, kept
)

# Only pending rows are ever scanned: a partial index keeps that cheap forever.
OUTBOX_PENDING_INDEX = sa.Index(
    "ix_audit_outbox_pending",
    outbox_table.c.seq,
    postgresql_where=sa.and_(outbox_table.c.delivered_at.is_(None), outbox_table.c.failed_at.is_(None)),
)
PENDING = sa.and_(outbox_table.c.delivered_at.is_(None), outbox_table.c.failed_at.is_(None))

# Statuses that say nothing about the events themselves: retried with backoff, never parked.
TRANSIENT_4XX = frozenset({401, 403, 408, 429})

DELIVERY_LOCK = 0x4152_5453_4F42  # "ARTSOB": one deliverer per service database at a time


def create_outbox_table_v1(op: Any) -> None:
    """Called by each service's migration that introduces the outbox. Never change it:
    a later schema change gets a migration of its own."""
    op.create_table(
        "audit_outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", JSONB, nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
    )
    op.create_index(
        "ix_audit_outbox_pending", "audit_outbox", ["seq"], postgresql_where=sa.text("delivered_at IS NULL")
    )


def add_outbox_parking_v2(op: Any) -> None:
    """Each service's migration after the outbox's: the ``failed_at`` column of parked
    events, and the pending index without them. Never change it (see v1)."""
    op.add_column("audit_outbox", sa.Column("failed_at", sa.DateTime(timezone=True)))
    op.drop_index("ix_audit_outbox_pending", table_name="audit_outbox")
    op.create_index(
        "ix_audit_outbox_pending",
        "audit_outbox",
        ["seq"],
        postgresql_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
    )


def drop_outbox_parking_v2(op: Any) -> None:
    op.drop_index("ix_audit_outbox_pending", table_name="audit_outbox")
    op.drop_column("audit_outbox", "failed_at")
    op.create_index(
        "ix_audit_outbox_pending", "audit_outbox", ["seq"], postgresql_where=sa.text("delivered_at IS NULL")
    )


def audit_event(
    *,
    service: str,
    action: str,
    outcome: str = "success",
    actor: Principal | None = None,
    target: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event shape the admin module's audit log accepts."""
    return {
        "id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "service": service,
        "actor": None
        if actor is None
        else {"id": actor.subject, "username": actor.username, "kind": actor.kind},
        "action": action,
        "target": target,
        "outcome": outcome,
        "client_ip": client_ip,
        "user_agent": user_agent,
        "request_id": request_id_var.get(),
        "details": details or {},
    }


_INSERT = sa.insert(outbox_table)
_INSERT_ONCE = insert_on_conflict(outbox_table, ("id", "created_at", "event"), conflict=("id",))


async def record(session: AsyncSession, event: dict[str, Any], *, once: bool = False) -> None:
    """Add ``event`` to the outbox inside the caller's transaction.

    ``once``: skip it when its id is there already, for work that may be finished twice
    (the SE's recovery after recovery, a retried index step) but must be audited once."""
    await record_many(session, [event], once=once)


async def record_many(session: AsyncSession, events: list[dict[str, Any]], *, once: bool = False) -> None:
    """:func:`record` for several events, in one statement."""
    if not events:
        return
    now = datetime.now(UTC)
    rows = [{"id": uuid.UUID(event["id"]), "created_at": now, "event": event} for event in events]
    await session.execute(_INSERT_ONCE if once else _INSERT, rows)


class RefusedEvents(Exception):
    """The admin refused a batch for good (a 4xx that is not about auth or load)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"admin answered {response.status_code}: {response.text[:300]}")
        self.status = response.status_code


class OutboxDeliverer:
    """Sends pending events to the admin in order, a batch every ``interval`` seconds; a
    full batch (a backlog) is followed by the next at once. Waiting for the interval rather
    than chasing each new event keeps batches large under load: one POST and one UPDATE
    for many events instead of one each (docs/performance.md)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient,
        tokens: ServiceTokenProvider,
        admin_url: str,
        *,
        batch_size: int = 100,
        interval: float = 1.0,
        max_backoff: float = 30.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.tokens = tokens
        self.url = admin_url.rstrip("/") + "/internal/v1/audit-events"
        self.batch_size = batch_size
        self.interval = interval
        self.max_backoff = max_backoff
        self._wake = asyncio.Event()
        # Pass the app's registry (app.state.metrics.registry) to have it on /metrics.
        self.parked = Counter(
            "artstore_audit_events_parked_total",
            "Audit events the admin refused for good, parked in the outbox (not resent)",
            registry=registry if registry is not None else CollectorRegistry(),
        )

    def wake(self) -> None:
        self._wake.set()

    async def deliver_once(self) -> int:
        """Send one batch in order; returns how many were delivered or parked (0: nothing
        pending). A failed delivery raises after the transaction has kept what was done
        (delivered and parked events, attempt counts)."""
        async with unit_of_work(self.sessions) as session:
            locked = await session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(DELIVERY_LOCK)))
            if not locked:
                return 0
            rows = (
                await session.execute(
                    sa.select(outbox_table.c.seq, outbox_table.c.event)
                    .where(PENDING)
                    .order_by(outbox_table.c.seq)
                    .limit(self.batch_size)
                )
            ).all()
            done, failure = await self._deliver(session, list(rows))
        if failure is not None:
            raise failure
        return done

    async def _deliver(self, session: AsyncSession, rows: list[Any]) -> tuple[int, Exception | None]:
        """Deliver ``rows`` as one batch; if the admin refuses it for good, one at a time,
        parking each event it refuses. Returns (delivered or parked, the failure that stopped it)."""
        if not rows:
            return 0, None
        try:
            await self._send(session, rows)
            return len(rows), None
        except RefusedEvents as exc:
            if len(rows) == 1:
                await self._park(session, rows[0], exc)
                return 1, None
        except Exception as exc:
            await session.execute(
                sa.update(outbox_table)
                .where(outbox_table.c.seq.in_([r.seq for r in rows]))
                .values(attempts=outbox_table.c.attempts + 1, last_error=repr(exc)[:500])
            )
            return 0, exc
        # The admin refused the batch for good: one event at a time finds the refused ones.
        done = 0
        for row in rows:
            sent, failure = await self._deliver(session, [row])
            done += sent
            if failure is not None:
                return done, failure
        return done, None

    async def _send(self, session: AsyncSession, rows: list[Any]) -> None:
        response = await self.http.post(
            self.url, json={"events": [r.event for r in rows]}, headers=await self.tokens.headers()
        )
        if 400 <= response.status_code < 500 and response.status_code not in TRANSIENT_4XX:
            raise RefusedEvents(response)
        response.raise_for_status()
        await session.execute(
            sa.update(outbox_table)
            .where(outbox_table.c.seq.in_([r.seq for r in rows]))
            .values(delivered_at=datetime.now(UTC), last_error=None)
        )

    async def _park(self, session: AsyncSession, row: Any, exc: RefusedEvents) -> None:
        await session.execute(
            sa.update(outbox_table)
            .where(outbox_table.c.seq == row.seq)
            .values(
                failed_at=datetime.now(UTC), attempts=outbox_table.c.attempts + 1, last_error=str(exc)[:500]
            )
        )
        self.parked.inc()
        log.error(
            "audit_event_parked",
            extra={"event_id": row.event.get("id"), "seq": row.seq, "status": exc.status, "error": str(exc)},
        )

    async def run(self) -> None:
        backoff = self.interval
        while True:
            try:
                delivered = await self.deliver_once()
                backoff = self.interval
                if delivered >= self.batch_size:
                    continue  # a backlog: the next batch at once
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("audit_delivery_failed", extra={"error": repr(exc)})
                backoff = min(backoff * 2, self.max_backoff)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._wake.wait()
            self._wake.clear()
