"""Appending to, reading and verifying the audit log.

The admin module's own events are written with :func:`record` in the transaction of the
action they describe: if the audit write fails, the action fails with it. Other services'
events arrive in batches through :func:`append_batch`, idempotent on each event's id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.audit import repository
from admin_module.audit.chain import GENESIS, head_is_authentic, head_mac, row_hash
from admin_module.audit.schemas import Actor, EventIn, EventOut, EventPage, VerifyResult
from admin_module.deps import RequestContext
from shared.errors import InvalidInput

SERVICE = "admin_module"
VERIFY_BATCH = 1000
VERIFY_CATCH_UP = 10  # walks to follow a head that moves on while verify reads
HEAD_KEY = "audit_head_key"  # in the session factory's ``info`` (admin_module.app)


def _head_key(session: AsyncSession) -> bytes:
    key = session.info.get(HEAD_KEY)
    if not isinstance(key, bytes):
        raise RuntimeError("the audit chain head key is not configured on this session factory")
    return key


def _row(event: EventIn, now: datetime) -> dict[str, Any]:
    actor = event.actor or Actor()
    occurred = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    return {
        "id": event.id,
        "occurred_at": occurred.astimezone(UTC),
        "recorded_at": now,
        "service": event.service,
        "actor_id": actor.id,
        "actor_username": actor.username,
        "actor_kind": actor.kind,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome,
        "client_ip": event.client_ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": event.details,
    }


async def append(
    session: AsyncSession, events: list[EventIn], *, submitted_by: str | None = None
) -> tuple[int, int]:
    """Chain ``events`` onto the log, skipping ids already present. Returns (accepted, duplicates).

    ``submitted_by`` names the service account that delivered a batch, so a service cannot pass
    its events off as another's unnoticed."""
    await repository.lock_chain(session)
    seen = await repository.existing_ids(session, [e.id for e in events])
    seq, prev = await repository.tail(session)
    prev = prev or GENESIS
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for event in events:
        if event.id in seen:
            continue
        seen.add(event.id)
        seq += 1
        row = _row(event, now) | {"seq": seq, "prev_hash": prev, "submitted_by": submitted_by}
        row["hash"] = prev = row_hash(row, prev)
        rows.append(row)
    await repository.insert(session, rows)
    if rows:
        mac = head_mac(_head_key(session), seq, prev)
        await repository.set_head(session, seq=seq, hash_=prev, mac=mac, now=now)
    return len(rows), len(events) - len(rows)


async def ensure_head(session: AsyncSession) -> None:
    """Anchor the chain's end when nothing has yet (a new database, or one from before the head
    existed): from then on, the newest rows can no longer be removed unnoticed."""
    await repository.lock_chain(session)
    if await repository.head(session) is None:
        seq, last = await repository.tail(session)
        last = last or GENESIS
        mac = head_mac(_head_key(session), seq, last)
        await repository.set_head(session, seq=seq, hash_=last, mac=mac, now=datetime.now(UTC))


async def record(
    session: AsyncSession,
    *,
    action: str,
    ctx: RequestContext | None = None,
    outcome: str = "success",
    actor: Actor | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one of the admin module's own events in the caller's transaction."""
    ctx = ctx or RequestContext()
    event = EventIn(
        id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        service=SERVICE,
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        client_ip=ctx.client_ip,
        user_agent=(ctx.user_agent or "")[:1024] or None,
        request_id=ctx.request_id,
        details=details or {},
    )
    await append(session, [event])


def _out(row: dict[str, Any]) -> EventOut:
    actor = None
    if row["actor_id"] or row["actor_username"]:
        actor = Actor(id=row["actor_id"], username=row["actor_username"], kind=row["actor_kind"])
    return EventOut(actor=actor, **{k: v for k, v in row.items() if not k.startswith("actor_")})


async def list_events(
    session: AsyncSession,
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> EventPage:
    try:
        before = int(cursor) if cursor else None
    except ValueError as exc:
        raise InvalidInput("cursor is not valid") from exc
    rows = await repository.search(
        session,
        actor=actor,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
        before_seq=before,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(items=[_out(r) for r in rows], next_cursor=str(rows[-1]["seq"]) if more else None)


async def verify(session: AsyncSession) -> VerifyResult:
    """Walk the chain from the start; the first row whose links do not hold is reported, then
    the chain's end is held against the MACed head.

    Appends go on meanwhile: a head read after the walk covers every row the walk saw (rows and
    head are written in one transaction), so a head that is further along means new rows, which
    the walk then reads too; a head behind the walk's end means rows nobody chained properly."""
    prev, checked = GENESIS, 0
    after: int | None = None
    for _ in range(VERIFY_CATCH_UP):
        while rows := await repository.page_ascending(session, after, VERIFY_BATCH):
            for row in rows:
                checked += 1
                reason = None
                if row["prev_hash"] != prev:
                    reason = "prev_hash does not match the previous row (a row was removed or inserted)"
                elif row_hash(row, prev) != row["hash"]:
                    reason = "hash does not match the row's content (the row was edited)"
                if reason:
                    return VerifyResult(
                        ok=False,
                        checked=checked,
                        first_bad=str(row["id"]),
                        first_bad_seq=row["seq"],
                        reason=reason,
                    )
                prev, after = row["hash"], row["seq"]
        head = await repository.head(session)
        if head is None or head["seq"] <= (after or 0):
            break
    reason = _end_of_chain_problem(session, head, after or 0, prev)
    if reason:
        return VerifyResult(ok=False, checked=checked, first_bad=None, first_bad_seq=after, reason=reason)
    return VerifyResult(ok=True, checked=checked, first_bad=None)


def _end_of_chain_problem(
    session: AsyncSession, head: dict[str, Any] | None, seq: int, last: str
) -> str | None:
    """What is wrong with the chain's end as the head records it (None: nothing)."""
    if head is None:
        return "the chain head is missing (it was removed)"
    if not head_is_authentic(_head_key(session), head["seq"], head["hash"], head["mac"]):
        return "the chain head's MAC does not match (the head was edited)"
    if seq < head["seq"]:
        return (
            f"the chain ends at seq {seq} but its head is at seq {head['seq']} (the newest rows were removed)"
        )
    if seq > head["seq"] or last != head["hash"]:
        return f"rows after the chain head (seq {head['seq']}) were not written by the admin module"
    return None
