"""Modes: the transition rules, the operation matrix per mode, and the retention rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from shared.errors import ArtStoreError
from shared.outbox import outbox_table
from storage_element.mode.service import check_transition
from storage_element.storage.mutate import apply_changes, check_delete
from storage_element.storage.sidecar import Sidecar
from tests.storage_element.conftest import SE

MODES = ["edit", "rw", "ro", "ar"]
ALLOWED = {("rw", "ro"): False, ("ro", "ar"): False, ("ro", "rw"): True}
NOW = datetime(2030, 1, 1, tzinfo=UTC)
PAST, FUTURE = NOW - timedelta(days=1), NOW + timedelta(days=1)


@pytest.mark.parametrize("confirm", [False, True])
@pytest.mark.parametrize("target", MODES)
@pytest.mark.parametrize("current", MODES)
def test_transition_rules(current: str, target: str, confirm: bool) -> None:
    if current == target:
        assert check_transition(current, target, confirm=confirm) is False
    elif (current, target) in ALLOWED and (confirm or not ALLOWED[(current, target)]):
        assert check_transition(current, target, confirm=confirm) is True
    else:
        with pytest.raises(ArtStoreError) as err:
            check_transition(current, target, confirm=confirm)
        assert err.value.code == "invalid_transition"


def sidecar(policy: str, when: datetime | None, *, hold: bool = False, state: str = "committed") -> Sidecar:
    retention: dict[str, Any] = {"policy": policy, "legal_hold": hold}
    retention["expires_at" if policy == "temporary" else "retain_until"] = when
    return Sidecar.model_validate(
        {
            "file_id": "f",
            "original_filename": "f",
            "storage_name": "f_f",
            "path": "2030/01/01/00/f_f",
            "size": 1,
            "sha256": "a" * 64,
            "created_at": NOW,
            "updated_at": NOW,
            "owner": {"id": "u", "username": "u", "kind": "user"},
            "uploaded_via": "svc",
            "retention": retention,
            "copy_state": state,
        }
    )


def expected_delete(mode: str, policy: str, when: str, hold: bool) -> str | None:
    """The rules of ARCHITECTURE.md, written out independently of the implementation."""
    if mode == "ar":
        return "mode_forbids"
    if hold:
        return "legal_hold"
    if policy == "permanent":
        return None if when == "past" else "retention_active"  # none = kept indefinitely
    if mode == "edit":
        return None
    return "retention_active" if when == "future" else None


@pytest.mark.parametrize("hold", [False, True])
@pytest.mark.parametrize("when", ["past", "future", "none"])
@pytest.mark.parametrize("policy", ["temporary", "permanent"])
@pytest.mark.parametrize("mode", MODES)
def test_delete_rules(mode: str, policy: str, when: str, hold: bool) -> None:
    sc = sidecar(policy, {"past": PAST, "future": FUTURE, "none": None}[when], hold=hold)
    expected = expected_delete(mode, policy, when, hold)
    if expected is None:
        check_delete(sc, mode=mode, reason=None, sha256=None, now=NOW)
    else:
        with pytest.raises(ArtStoreError) as err:
            check_delete(sc, mode=mode, reason=None, sha256=None, now=NOW)
        assert err.value.code == expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("state", ["pending", "committed"])
def test_saga_deletes_bypass_retention_and_hold(mode: str, state: str) -> None:
    sc = sidecar("permanent", None, hold=True, state=state)
    if mode == "ar":
        with pytest.raises(ArtStoreError, match="mode"):
            check_delete(sc, mode=mode, reason="pending", sha256=None, now=NOW)
        return
    check_delete(sc, mode=mode, reason="relocated", sha256="A" * 64, now=NOW)
    with pytest.raises(ArtStoreError):
        check_delete(sc, mode=mode, reason="relocated", sha256="b" * 64, now=NOW)
    if state == "pending":
        check_delete(sc, mode=mode, reason="pending", sha256=None, now=NOW)
    else:
        with pytest.raises(ArtStoreError):
            check_delete(sc, mode=mode, reason="pending", sha256=None, now=NOW)


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        (("permanent", None), {"policy": "permanent", "retain_until": FUTURE}, False),
        (("permanent", None), {"policy": "temporary"}, False),
        (("permanent", FUTURE), {"retain_until": PAST}, False),
        (("permanent", FUTURE), {"retain_until": FUTURE + timedelta(days=9)}, True),
        (("permanent", FUTURE), {"retain_until": None}, True),
        (("temporary", FUTURE), {"policy": "permanent", "retain_until": None}, True),
    ],
)
@pytest.mark.parametrize("mode", ["edit", "rw"])
def test_retention_never_shortened(
    mode: str, old: tuple[str, Any], new: dict[str, Any], allowed: bool
) -> None:
    sc = sidecar(*old)
    if allowed:
        assert apply_changes(sc, {"retention": new}, mode=mode).revision == 2
    else:
        with pytest.raises(ArtStoreError) as err:
            apply_changes(sc, {"retention": new}, mode=mode)
        assert err.value.code == "retention_active"


async def _mode(se: SE, mode: str, confirm: bool = False) -> Any:
    return await se.client.post("/api/v1/mode", json={"mode": mode, "confirm": confirm}, headers=se.admin())


@pytest.mark.parametrize("mode", MODES)
async def test_operation_matrix_over_http(start_se: Any, mode: str) -> None:
    async with start_se(initial_mode="edit" if mode == "edit" else "rw") as se:
        expired = {"retention": {"policy": "temporary", "expires_at": PAST.replace(year=2020).isoformat()}}
        assert (await se.put("old", b"old", **expired)).status_code == 201
        assert (await se.put("kept", b"kept", retention={"policy": "permanent"})).status_code == 201
        for step in {"ro": ["ro"], "ar": ["ro", "ar"]}.get(mode, []):
            assert (await _mode(se, step)).status_code == 200
        created = await se.put("new", b"new")
        assert created.status_code == (201 if mode in ("edit", "rw") else 409)
        assert (await se.client.get("/api/v1/files/old", headers=se.auth())).status_code == 200
        content = await se.client.get("/api/v1/files/old/content", headers=se.auth())
        assert content.status_code == (409 if mode == "ar" else 200)
        if mode == "ar":
            assert content.json()["code"] == "archived"
        patched = await se.client.patch("/api/v1/files/kept", json={"description": "x"}, headers=se.auth())
        assert patched.status_code == (200 if mode in ("edit", "rw") else 409)
        kept = await se.client.delete("/api/v1/files/kept", headers=se.auth())
        assert kept.status_code == 409 and kept.json()["code"] == (
            "mode_forbids" if mode == "ar" else "retention_active"
        )
        old = await se.client.delete("/api/v1/files/old", headers=se.auth())
        assert old.status_code == (409 if mode == "ar" else 204)
        info = (await se.client.get("/api/v1/info", headers=se.admin())).json()
        assert info["mode"] == mode and ("create" in info["allowed_operations"]) == (mode in ("edit", "rw"))


@pytest.mark.parametrize(
    ("old", "new", "allowed_on_rw"),
    [
        (FUTURE, PAST, False),
        (FUTURE, FUTURE - timedelta(hours=1), False),
        (FUTURE, FUTURE, True),
        (FUTURE, FUTURE + timedelta(days=9), True),
        (FUTURE, None, True),  # no TTL any more: kept longer
        (None, PAST, True),  # nothing to shorten: deletable at any time already
    ],
)
@pytest.mark.parametrize("mode", ["edit", "rw"])
def test_a_temporary_files_ttl_is_never_shortened_on_rw(
    mode: str, old: datetime | None, new: datetime | None, allowed_on_rw: bool
) -> None:
    sc = sidecar("temporary", old)
    changes = {"retention": {"expires_at": new}}
    if mode == "edit" or allowed_on_rw:
        assert apply_changes(sc, changes, mode=mode).retention.expires_at == new
    else:
        with pytest.raises(ArtStoreError) as err:
            apply_changes(sc, changes, mode=mode)
        assert err.value.code == "retention_active"


async def test_an_rw_se_refuses_to_shorten_a_ttl_and_keeps_the_file_as_it_was(se: SE) -> None:
    expires = "2100-01-01T00:00:00Z"
    await se.put("ttl", b"1", retention={"policy": "temporary", "expires_at": expires})
    shorter = {"retention": {"expires_at": "2099-12-31T00:00:00Z"}}
    refused = await se.client.patch("/api/v1/files/ttl", json=shorter, headers=se.auth())
    assert refused.status_code == 409 and refused.json()["code"] == "retention_active"
    rec = (await se.client.get("/api/v1/files/ttl", headers=se.auth())).json()
    assert (rec["expires_at"], rec["revision"]) == (expires, 1)
    longer = {"retention": {"expires_at": "2101-01-01T00:00:00Z"}}
    assert (await se.client.patch("/api/v1/files/ttl", json=longer, headers=se.auth())).status_code == 200


async def test_transitions_persist_audit_and_reach_the_feed(start_se: Any, se_settings: Any) -> None:
    settings = se_settings(initial_mode="rw")
    async with start_se(settings) as se:
        assert (await se.client.get("/api/v1/mode", headers=se.admin())).json()["mode"] == "rw"
        user = {"Authorization": f"Bearer {se.keys.user('USER', 'ulla')}"}
        assert (await se.client.post("/api/v1/mode", json={"mode": "ro"}, headers=user)).status_code == 403
        assert (await _mode(se, "ro")).json()["mode"] == "ro"
        refused = await _mode(se, "rw")
        assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
        assert (await _mode(se, "rw", confirm=True)).json()["mode"] == "rw"
        assert (await _mode(se, "ro")).status_code == 200
        feed = await se.changes()
        assert [i["mode"] for i in feed["items"] if i["op"] == "mode"][-3:] == ["ro", "rw", "ro"]
        async with se.store.sessions() as session:
            events = (await session.scalars(sa.select(outbox_table.c.event))).all()
        changes = [
            (e["details"]["from"], e["details"]["to"]) for e in events if e["action"] == "storage.mode_change"
        ]
        assert changes == [("rw", "ro"), ("ro", "rw"), ("rw", "ro")]
    async with start_se(settings) as again:
        assert again.store.mode.current == "ro"


async def test_edit_never_changes_mode(start_se: Any) -> None:
    async with start_se(initial_mode="edit") as se:
        for target in ("rw", "ro", "ar"):
            assert (await _mode(se, target, confirm=True)).status_code == 409


async def test_a_mode_persisted_without_its_feed_entry_is_announced_at_start(
    start_se: Any, se_settings: Any
) -> None:
    settings = se_settings(initial_mode="rw")
    async with start_se(settings) as se:
        await se.store.mode.set("ro")  # as if the process died between the two writes
    async with start_se(settings) as se:
        modes = [i["mode"] for i in (await se.changes())["items"] if i["op"] == "mode"]
        assert modes == ["rw", "ro"]
