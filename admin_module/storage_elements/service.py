"""The registry's rules: register, read, change, remove, poll, and the discovery snapshot.

Every change bumps the registry version in the same transaction, so the snapshot that
services read through Redis (or ``GET /internal/v1/storage-elements``) is versioned
monotonically across restarts and replicas.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.audit import service as audit
from admin_module.audit.schemas import Actor
from admin_module.deps import RequestContext
from admin_module.storage_elements import repository
from admin_module.storage_elements.client import StorageElementClient
from admin_module.storage_elements.errors import (
    RegistrationMismatch,
    StorageElementNotEmpty,
    StorageElementNotFound,
    StorageElementUnreachable,
)
from admin_module.storage_elements.schemas import Capacity, FleetView, InstanceOut, StorageElementOut

SNAPSHOT_FIELDS = ("id", "name", "url", "mode", "status", "priority")
MAINTENANCE_KINDS = ("reindex", "scrub", "consistency")


@dataclass(frozen=True)
class Forwarded:
    """A storage element's answer, passed back to the operator unchanged."""

    status: int
    body: Any
    media_type: str

    @classmethod
    def of(cls, response: httpx.Response) -> Forwarded:
        """The SE's JSON answer; anything else is a broken SE (502), never an admin 500."""
        try:
            body = response.json()
        except ValueError as exc:
            raise StorageElementUnreachable(
                f"{response.request.url} answered {response.status_code} without a JSON body"
            ) from exc
        return cls(response.status_code, body, response.headers.get("content-type", ""))


def to_out(row: dict[str, Any]) -> StorageElementOut:
    info = row["info"] or {}
    return StorageElementOut(
        id=row["id"],
        name=row["name"],
        url=row["url"],
        mode=row["mode"],
        status=row["status"],
        status_reason=row["status_reason"],
        priority=row["priority"],
        capacity=Capacity(
            **{k: int(v or 0) for k, v in (info.get("capacity") or {}).items() if k in Capacity.model_fields}
        ),
        file_count=int(info.get("file_count") or 0),
        backend=info.get("backend"),
        allowed_operations=list(info.get("allowed_operations") or []),
        version=info.get("version"),
        last_seen_at=row["last_seen_at"],
        registered_at=row["registered_at"],
        updated_at=row["updated_at"],
    )


def snapshot_item(row: dict[str, Any]) -> dict[str, Any]:
    out = to_out(row)
    item = {k: getattr(out, k) for k in SNAPSHOT_FIELDS}
    item["capacity"] = out.capacity.model_dump()
    item["file_count"] = out.file_count
    item["allowed_operations"] = out.allowed_operations
    item["feed_epoch"] = (row["info"] or {}).get("feed_epoch")
    return item


def _values_from_info(
    url: str, info: dict[str, Any], now: datetime, status: str = "online"
) -> dict[str, Any]:
    return {
        "id": str(info["id"]),
        "name": str(info.get("name") or info["id"]),
        "url": url,
        "mode": str(info.get("mode", "rw")),
        "status": status,
        "status_reason": None,
        "priority": int(info.get("priority", 100)),
        "info": info,
        "last_seen_at": now,
        "registered_at": now,
        "updated_at": now,
    }


async def register(
    session: AsyncSession,
    client: StorageElementClient,
    *,
    url: str,
    actor: Actor,
    ctx: RequestContext,
    claimed_id: str | None = None,
) -> tuple[StorageElementOut, bool, int]:
    """Read the SE's own /info and upsert it. Idempotent by the SE's stable id."""
    url = url.rstrip("/")
    info = await client.info(url)
    se_id = str(info.get("id") or "")
    if not se_id or (claimed_id is not None and se_id != claimed_id):
        raise RegistrationMismatch(f"{url} reports id {se_id!r}, not {claimed_id!r}")
    other = await repository.get_by_url(session, url)
    if other is not None and other["id"] != se_id:
        raise RegistrationMismatch(f"{url} is registered as {other['id']}, but now reports {se_id}")
    created = await repository.get(session, se_id) is None
    await repository.upsert(session, _values_from_info(url, info, datetime.now(UTC)))
    version = await repository.bump_version(session)
    await audit.record(
        session,
        action="storage_element.registered",
        ctx=ctx,
        actor=actor,
        target=se_id,
        details={"url": url, "created": created},
    )
    return to_out(await get(session, se_id)), created, version


async def get(session: AsyncSession, se_id: str) -> dict[str, Any]:
    row = await repository.get(session, se_id)
    if row is None:
        raise StorageElementNotFound(f"no storage element {se_id}")
    return row


async def list_all(session: AsyncSession) -> list[StorageElementOut]:
    return [to_out(row) for row in await repository.list_all(session)]


async def patch(
    session: AsyncSession,
    se_id: str,
    *,
    name: str | None,
    priority: int | None,
    actor: Actor,
    ctx: RequestContext,
) -> tuple[StorageElementOut, int]:
    await get(session, se_id)
    values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
    if name is not None:
        values |= {"name": name, "name_overridden": True}
    if priority is not None:
        values |= {"priority": priority, "priority_overridden": True}
    await repository.update(session, se_id, values)
    version = await repository.bump_version(session)
    await audit.record(
        session,
        action="storage_element.updated",
        ctx=ctx,
        actor=actor,
        target=se_id,
        details={"name": name, "priority": priority},
    )
    return to_out(await get(session, se_id)), version


async def remove(
    session: AsyncSession, client: StorageElementClient, se_id: str, *, actor: Actor, ctx: RequestContext
) -> int:
    """Only an empty SE leaves the registry: its live file count decides (the last known one if
    it is unreachable, and an SE never seen to be empty stays)."""
    row = await get(session, se_id)
    try:
        file_count = int((await client.info(row["url"])).get("file_count") or 0)
    except StorageElementUnreachable:
        file_count = int((row["info"] or {}).get("file_count", 1) or 0)
    if file_count:
        raise StorageElementNotEmpty(f"{se_id} still holds {file_count} files")
    await repository.delete(session, se_id)
    version = await repository.bump_version(session)
    await audit.record(session, action="storage_element.removed", ctx=ctx, actor=actor, target=se_id)
    return version


async def change_mode(
    session: AsyncSession,
    client: StorageElementClient,
    se_id: str,
    *,
    body: dict[str, Any],
    actor: Actor,
    ctx: RequestContext,
) -> tuple[Forwarded, int | None]:
    row = await get(session, se_id)
    response = await client.forward("POST", f"{row['url']}/api/v1/mode", json=body)
    forwarded = Forwarded.of(response)
    outcome = "success" if response.is_success else "failure"
    await audit.record(
        session,
        action="storage_element.mode_changed",
        ctx=ctx,
        actor=actor,
        target=se_id,
        outcome=outcome,
        details={"requested": body.get("mode"), "from": row["mode"], "status": response.status_code},
    )
    if not response.is_success:
        return forwarded, None
    try:
        info = await client.info(row["url"])
    except StorageElementUnreachable:
        # The SE has changed mode all the same: keep its answer (mode, allowed operations)
        # and the audit row; the next health poll brings the rest of its /info.
        answer = forwarded.body if isinstance(forwarded.body, dict) else {}
        info = (row["info"] or {}) | {k: answer[k] for k in ("mode", "allowed_operations") if k in answer}
    await repository.update(
        session, se_id, {"mode": info.get("mode", row["mode"]), "info": info, "updated_at": datetime.now(UTC)}
    )
    return forwarded, await repository.bump_version(session)


async def maintenance(
    session: AsyncSession,
    client: StorageElementClient,
    se_id: str,
    kind: str,
    *,
    actor: Actor,
    ctx: RequestContext,
) -> Forwarded:
    row = await get(session, se_id)
    response = await client.forward("POST", f"{row['url']}/api/v1/maintenance/{kind}")
    await audit.record(
        session,
        action=f"storage_element.maintenance.{kind}",
        ctx=ctx,
        actor=actor,
        target=se_id,
        outcome="success" if response.is_success else "failure",
        details={"status": response.status_code},
    )
    return Forwarded.of(response)


async def job(session: AsyncSession, client: StorageElementClient, se_id: str, job_id: str) -> Forwarded:
    row = await get(session, se_id)
    response = await client.forward("GET", f"{row['url']}/api/v1/maintenance/jobs/{job_id}")
    return Forwarded.of(response)


async def _probe(client: StorageElementClient, row: dict[str, Any]) -> dict[str, Any]:
    """One SE's health: its /info and readiness, as registry column values."""
    now = datetime.now(UTC)
    try:
        info, ready = await asyncio.gather(client.info(row["url"]), client.readiness(row["url"]))
    except Exception as exc:
        return {"status": "offline", "status_reason": str(exc)[:500]}
    status = {"ok": "online", "degraded": "degraded"}.get(ready, "offline")
    reason = None if status == "online" else f"readiness reports {ready}"
    return {
        "status": status,
        "status_reason": reason,
        "info": info,
        "mode": info.get("mode", row["mode"]),
        "last_seen_at": now,
    }


async def probe_all(client: StorageElementClient, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every SE's health, probed concurrently (outside any transaction: probes take seconds)."""
    return list(await asyncio.gather(*(_probe(client, row) for row in rows)))


async def record_probes(
    session: AsyncSession, rows: list[dict[str, Any]], probes: list[dict[str, Any]]
) -> int | None:
    """Store each probe unless its SE was changed since ``rows`` were read (a registration,
    an operator's change or another poll: theirs is as new); returns the new version when
    anything the snapshot shows changed."""
    changed = False
    for row, values in zip(rows, probes, strict=True):
        differs = snapshot_item(row) != snapshot_item(row | values)
        if differs:
            values = values | {"updated_at": datetime.now(UTC)}
        stored = await repository.update_if_unchanged(session, row["id"], row["updated_at"], values)
        changed = changed or (stored and differs)
    return await repository.bump_version(session) if changed else None


async def snapshot(session: AsyncSession) -> dict[str, Any]:
    return {
        "version": await repository.current_version(session),
        "generated_at": datetime.now(UTC),
        "storage_elements": [snapshot_item(row) for row in await repository.list_all(session)],
    }


async def heartbeat(session: AsyncSession, values: dict[str, Any]) -> None:
    await repository.record_heartbeat(session, values, datetime.now(UTC))


async def fleet(session: AsyncSession, *, stale_after: timedelta, forget_after: timedelta) -> FleetView:
    now = datetime.now(UTC)
    instances = await repository.list_instances(session, now - forget_after)
    items = [
        InstanceOut(**row, status="up" if now - row["last_seen_at"] <= stale_after else "stale")
        for row in instances
    ]
    return FleetView(items=items, storage_elements=await list_all(session))
