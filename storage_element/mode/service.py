"""Mode transitions: validated, persisted, audited (outbox) and announced on the feed."""

from __future__ import annotations

from typing import Any

from shared.auth import Principal
from shared.db import unit_of_work
from shared.errors import InvalidInput
from shared.outbox import audit_event, record
from shared.version import __version__
from storage_element.errors import InvalidTransition
from storage_element.index import repository as repo
from storage_element.mode.rules import ALLOWED, TRANSITIONS, allowed_operations
from storage_element.storage.store import Store


def describe(store: Store) -> dict[str, Any]:
    return {"mode": store.mode.current, "allowed_operations": allowed_operations(store.mode.current)}


def check_transition(current: str, mode: str, *, confirm: bool) -> bool:
    """True when ``current -> mode`` is a change to make; False for a no-op; else an error."""
    if mode not in ALLOWED:
        raise InvalidInput(f"unknown mode {mode!r}")
    if mode == current:
        return False
    needs_confirm = TRANSITIONS.get((current, mode))
    if needs_confirm is None:
        raise InvalidTransition(f"{current} -> {mode} is not an allowed transition")
    if needs_confirm and not confirm:
        raise InvalidTransition(f"{current} -> {mode} needs confirm=true")
    return True


async def change_mode(store: Store, *, mode: str, confirm: bool, actor: Principal) -> dict[str, Any]:
    current = store.mode.current
    if not check_transition(current, mode, confirm=confirm):
        return describe(store)
    async with unit_of_work(store.sessions) as session:
        gen = await repo.active(session, lock=True)
        if gen is None:
            raise RuntimeError("the index has no active generation")
        await store.mode.set(mode)  # persisted before the feed and audit commit
        seq = await repo.append_change(session, gen.generation, "mode", mode=mode)
        await record(
            session,
            audit_event(
                service="storage_element",
                action="storage.mode_change",
                actor=actor,
                target=store.se_id,
                details={"from": current, "to": mode},
            ),
        )
    await store.notify(seq, "mode", gen.feed_epoch)
    return describe(store)


async def info(store: Store) -> dict[str, Any]:
    """``GET /api/v1/info`` (API.md), with the capacity thresholds added."""
    async with store.sessions() as session:
        count, _used = await repo.totals(session)
        gen = await repo.active(session)
    capacity = await store.capacity.snapshot()
    return {
        "id": store.se_id,
        "name": store.settings.name,
        "mode": store.mode.current,
        "allowed_operations": allowed_operations(store.mode.current),
        "backend": store.backend.kind,
        "capacity": capacity,
        "file_count": count,
        "priority": store.settings.priority,
        "version": __version__,
        "feed_epoch": gen.feed_epoch if gen else None,
        "last_seq": gen.last_seq if gen else 0,
    }
