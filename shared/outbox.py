"""The transactional audit outbox (ARCHITECTURE.md section 4).

A service that does something security-relevant calls :func:`record` with the same
session as the action itself, so the event commits (or rolls back) with it. A background
:class:`OutboxDeliverer` sends pending events, oldest first, to the admin module's
``POST /internal/v1/audit-events`` (idempotent on each event id) and marks them
delivered. An admin outage delays delivery; it never blocks the action or loses an event.
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
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal
from shared.db import unit_of_work
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
)

# Only undelivered rows are ever scanned: a partial index keeps that cheap forever.
OUTBOX_PENDING_INDEX = sa.Index(
    "ix_audit_outbox_pending", outbox_table.c.seq, postgresql_where=outbox_table.c.delivered_at.is_(None)
)

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


async def record(session: AsyncSession, event: dict[str, Any]) -> None:
    """Add ``event`` to the outbox inside the caller's transaction."""
    await session.execute(
        sa.insert(outbox_table).values(id=uuid.UUID(event["id"]), created_at=datetime.now(UTC), event=event)
    )


class OutboxDeliverer:
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
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.tokens = tokens
        self.url = admin_url.rstrip("/") + "/internal/v1/audit-events"
        self.batch_size = batch_size
        self.interval = interval
        self.max_backoff = max_backoff
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def deliver_once(self) -> int:
        """Send one batch in order; returns how many were delivered (0: nothing pending)."""
        async with unit_of_work(self.sessions) as session:
            locked = await session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(DELIVERY_LOCK)))
            if not locked:
                return 0
            rows = (
                await session.execute(
                    sa.select(outbox_table.c.seq, outbox_table.c.event)
                    .where(outbox_table.c.delivered_at.is_(None))
                    .order_by(outbox_table.c.seq)
                    .limit(self.batch_size)
                )
            ).all()
            if not rows:
                return 0
            seqs = [r.seq for r in rows]
            try:
                response = await self.http.post(
                    self.url, json={"events": [r.event for r in rows]}, headers=await self.tokens.headers()
                )
                response.raise_for_status()
            except Exception as exc:
                await session.execute(
                    sa.update(outbox_table)
                    .where(outbox_table.c.seq.in_(seqs))
                    .values(attempts=outbox_table.c.attempts + 1, last_error=repr(exc)[:500])
                )
                raise
            await session.execute(
                sa.update(outbox_table)
                .where(outbox_table.c.seq.in_(seqs))
                .values(delivered_at=datetime.now(UTC), last_error=None)
            )
            return len(rows)

    async def run(self) -> None:
        backoff = self.interval
        while True:
            try:
                delivered = await self.deliver_once()
                backoff = self.interval
                if delivered:
                    continue
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
