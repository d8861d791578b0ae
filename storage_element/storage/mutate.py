"""Metadata updates, deletes and quarantine: WAL, then sidecar, then index (the order and
crash points are listed in :mod:`.writer`)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import anyio.to_thread

from shared.auth import Principal
from shared.errors import Conflict, InvalidInput
from storage_element.errors import Archived, FileNotFound, LegalHold, ModeForbids, RetentionActive
from storage_element.index.repository import mark_verified
from storage_element.mode.rules import ALLOWED
from storage_element.storage import codec
from storage_element.storage.crash import crash_path, crash_point
from storage_element.storage.events import intent_event
from storage_element.storage.layout import quarantine_key, sidecar_key
from storage_element.storage.sidecar import Quarantine, Retention, Sidecar, check_limits, utcnow
from storage_element.storage.store import Store

log = logging.getLogger("artstore.storage_element")
Account = Callable[[int], Awaitable[None]]

SAGA_REASONS = ("pending", "relocated")


async def _load(store: Store, file_id: str) -> Sidecar:
    sidecar = await store.find(file_id)
    if sidecar is None:
        raise FileNotFound(f"file {file_id} is not on this storage element")
    return sidecar


def _shortens(old: Retention, new: Retention) -> bool:
    if old.policy == "permanent":
        if new.policy != "permanent":
            return True
        if old.retain_until is None:
            return new.retain_until is not None
        return new.retain_until is not None and new.retain_until < old.retain_until
    return False


def apply_changes(old: Sidecar, changes: dict[str, Any], *, mode: str) -> Sidecar:
    """The new sidecar for a PATCH, or an error when a rule forbids it."""
    data = old.doc()
    for name in ("description", "tags", "metadata"):
        if changes.get(name) is not None:
            data[name] = changes[name]
    check_limits(description=data["description"], tags=data["tags"], metadata=data["metadata"])
    retention = old.retention.model_copy()
    if changes.get("retention") is not None:
        retention = Retention.model_validate({**old.retention.model_dump(), **changes["retention"]})
        if retention.policy == "permanent":
            retention.expires_at = None  # a permanent file has no TTL
        else:
            retention.retain_until = None
        if _shortens(old.retention, retention):
            raise RetentionActive("a permanent file's retention can never be shortened")
        if (
            mode == "rw"
            and old.retention.policy == "temporary"
            and retention.policy == "temporary"
            and (
                old.retention.expires_at
                and (retention.expires_at or old.retention.expires_at) < old.retention.expires_at
            )
        ):
            raise RetentionActive("retention may not be shortened on an rw storage element")
    if changes.get("legal_hold") is not None:
        retention.legal_hold = bool(changes["legal_hold"])
    data["retention"] = retention.model_dump(mode="json")
    if changes.get("copy_state") is not None:
        if changes["copy_state"] != "committed" or old.copy_state not in ("pending", "committed"):
            raise Conflict("copy_state may only switch from pending to committed")
        data["copy_state"] = "committed"
    data["revision"] = old.revision + 1
    data["updated_at"] = utcnow().isoformat()
    return Sidecar.load(data)


async def update(store: Store, file_id: str, changes: dict[str, Any], *, actor: Principal | None) -> Sidecar:
    async with store.file_lock(file_id):
        old = await _load(store, file_id)
        if "update" not in ALLOWED[store.mode.current]:
            raise ModeForbids(f"mode {store.mode.current} does not accept metadata updates")
        new = apply_changes(old, changes, mode=store.mode.current)
        details = {"se_id": store.se_id, "revision": new.revision, "fields": sorted(changes)}
        event = intent_event("file.update", file_id, actor=actor, details=details)
        keys = {"sidecar": sidecar_key(old.path)}
        rec = await store.wal.intent("update", file_id, keys, revision=new.revision, audit=event)
        crash_point("update_after_wal_intent")
        try:
            with crash_path("update"):
                await store.backend.put_small(sidecar_key(old.path), new.dump())  # the commit point
        except Exception:
            if await store.backend.read_small(sidecar_key(old.path)) == old.dump():
                await store.wal.aborted(rec)  # the old sidecar is intact: nothing changed
            raise
        crash_point("update_after_sidecar")
        await store.wal.committed(rec)
        crash_point("update_after_wal_commit")
        await store.index_change("upsert", file_id, new, audit=event)
        crash_point("update_after_index")
        await store.wal.done(rec)
        return new


def check_delete(
    sidecar: Sidecar, *, mode: str, reason: str | None, sha256: str | None, now: datetime
) -> None:
    """Mode, retention and legal hold (ARCHITECTURE.md "Retention on the SE")."""
    if "delete" not in ALLOWED[mode]:
        raise ModeForbids(f"mode {mode} does not allow deletes")
    if reason == "pending":
        if sidecar.copy_state != "pending":
            raise Conflict("only a pending copy can be removed with reason=pending")
        return
    if reason == "relocated":
        if not sha256 or not hmac.compare_digest(sha256.lower(), sidecar.sha256):
            raise Conflict("the relocated copy's sha256 does not match this copy")
        return
    ret = sidecar.retention
    if ret.legal_hold:
        raise LegalHold(f"file {sidecar.file_id} is under legal hold")
    if ret.policy == "permanent":
        if ret.retain_until is None or ret.retain_until > now:
            raise RetentionActive(f"file {sidecar.file_id} is retained until {ret.retain_until or 'forever'}")
        return
    if mode != "edit" and ret.expires_at is not None and ret.expires_at > now:
        raise RetentionActive(f"file {sidecar.file_id} expires at {ret.expires_at.isoformat()}")


async def delete(
    store: Store,
    file_id: str,
    *,
    actor: Principal | None,
    reason: str | None = None,
    target: str | None = None,
    sha256: str | None = None,
    action: str = "file.delete",
) -> Sidecar:
    if reason is not None and reason not in SAGA_REASONS:
        raise InvalidInput("reason must be pending or relocated")
    if reason == "relocated" and not (target and sha256):
        raise InvalidInput("reason=relocated needs target and sha256")
    async with store.file_lock(file_id):
        sidecar = await _load(store, file_id)
        check_delete(sidecar, mode=store.mode.current, reason=reason, sha256=sha256, now=utcnow())
        keys = {
            "data": sidecar.path,
            "sidecar": sidecar_key(sidecar.path),
            "quarantine": quarantine_key(sidecar.path),
        }
        details = {"se_id": store.se_id, "sha256": sidecar.sha256, "size": sidecar.size, "reason": reason}
        if reason == "relocated":
            details.update(target=target, target_sha256=sha256)
        event = intent_event(action, file_id, actor=actor, details=details)
        rec = await store.wal.intent("delete", file_id, keys, audit=event)
        crash_point("delete_after_wal_intent")
        await store.backend.delete(keys["sidecar"])  # the commit point: the file is gone
        crash_point("delete_after_sidecar")
        await store.backend.delete(keys["data"])
        await store.backend.delete(keys["quarantine"])
        crash_point("delete_after_data")
        await store.wal.committed(rec)
        crash_point("delete_after_wal_commit")
        await store.index_change("delete", file_id, None, audit=event)
        crash_point("delete_after_index")
        await store.wal.done(rec)
        store.capacity.freed(sidecar.stored_size)
        return sidecar


async def _hash_chunks(chunks: AsyncIterator[bytes], account: Account | None) -> str:
    hasher = hashlib.sha256()
    async for chunk in chunks:
        await anyio.to_thread.run_sync(hasher.update, chunk)
        if account is not None:
            await account(len(chunk))
    return hasher.hexdigest()


async def rehash(store: Store, sidecar: Sidecar, account: Account | None = None) -> str | None:
    """sha256 of the copy's original bytes (decoded when stored encoded); None = data missing.

    An encoded copy that no longer decodes is reported with the sha256 of its stored bytes.
    ``account`` is told the size of every chunk read (the scrub's throttle).
    """
    key = sidecar.path
    if await store.backend.size(key) is None:
        return None
    if sidecar.encoding is None:
        return await _hash_chunks(store.backend.read_range(key), account)
    try:
        return await _hash_chunks(codec.read_original(store.backend, key, sidecar.encoding.name), account)
    except codec.DecodeError as exc:
        log.warning("undecodable_copy", extra={"file_id": sidecar.file_id, "error": str(exc)})
        return await _hash_chunks(store.backend.read_range(key), account)


async def quarantine(
    store: Store, sidecar: Sidecar, observed: str | None, *, actor: Principal | None
) -> Sidecar:
    """Move a corrupt copy's bytes aside and mark its sidecar ``corrupt`` (feed: upsert)."""
    qkey = quarantine_key(sidecar.path)
    marker = Quarantine(
        detected_at=utcnow(),
        observed_sha256=observed,
        previous_state="pending" if sidecar.copy_state == "pending" else "committed",
    ).model_dump(mode="json")
    details = {"se_id": store.se_id, "expected_sha256": sidecar.sha256, "observed_sha256": observed}
    event = intent_event("file.quarantine", sidecar.file_id, actor=actor, outcome="failure", details=details)
    keys = {"data": sidecar.path, "quarantine": qkey}
    # The marker travels in the intent: recovery marks the sidecar with the same one.
    rec = await store.wal.intent("quarantine", sidecar.file_id, keys, marker=marker, audit=event)
    crash_point("quarantine_after_wal_intent")
    if observed is not None:
        await store.backend.rename(sidecar.path, qkey)
        crash_point("quarantine_after_data_move")
    new = corrupt_sidecar(sidecar, marker)
    with crash_path("quarantine"):
        await store.backend.put_small(sidecar_key(sidecar.path), new.dump())
    crash_point("quarantine_after_sidecar")
    await store.wal.committed(rec)
    crash_point("quarantine_after_wal_commit")
    await store.index_change("upsert", sidecar.file_id, new, audit=event)
    crash_point("quarantine_after_index")
    await store.wal.done(rec)
    return new


def corrupt_sidecar(sidecar: Sidecar, marker: dict[str, Any]) -> Sidecar:
    """``sidecar`` marked corrupt with the quarantine ``marker`` (feed: the copy is corrupt)."""
    data = sidecar.doc()
    data["copy_state"] = "corrupt"
    data["quarantine"] = marker
    return Sidecar.load(data)


async def verify(store: Store, file_id: str, *, actor: Principal | None) -> tuple[bool, str | None]:
    if store.mode.current == "ar":
        raise Archived("the bytes of an archived storage element are offline")
    async with store.file_lock(file_id):
        sidecar = await _load(store, file_id)
        if sidecar.copy_state == "corrupt":
            return False, sidecar.quarantine.observed_sha256 if sidecar.quarantine else None
        observed = await rehash(store, sidecar)
        if observed is not None and hmac.compare_digest(observed, sidecar.sha256):
            async with store.sessions.begin() as session:
                await mark_verified(session, file_id, utcnow())
            return True, observed
        await quarantine(store, sidecar, observed, actor=actor)
        return False, observed
