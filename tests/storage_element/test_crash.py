"""Crash tests: a real SE process is SIGKILLed at every named point of the write, update,
delete and quarantine paths; after a restart every acknowledged file is intact with its
sha256, nothing half-written is visible, no orphan remains, every committed change is
audited once (in the outbox) and on the feed once, and recovery run again changes nothing.

The crash processes of one path run side by side (each with its own root, state directory
and database) to keep the suite short; each is restarted in-process on the same state.
A change whose sidecar was committed before the crash is rolled forward (ARCHITECTURE.md:
the sidecar is the commit point), so the client's retry of it answers 200.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import make_url

from shared.outbox import outbox_table
from storage_element.index.tables import changes, files, generations
from storage_element.jobs.consistency import consistency
from storage_element.settings import Settings
from storage_element.storage.layout import quarantine_key
from storage_element.storage.recovery import recover
from storage_element.storage.sidecar import Sidecar
from tests.storage_element import process
from tests.storage_element.conftest import INGESTER_SCOPES, SE, attributes
from tests.support.tokens import TestKeys

pytestmark = pytest.mark.slow  # real processes; still part of every run

PUT_POINTS = {  # point -> is the new file there after recovery?
    "put_after_wal_intent": False,
    "put_mid_stream": False,
    "put_before_data_rename": False,
    "put_after_data_rename": False,
    "put_sidecar_temp": False,
    "put_after_sidecar": True,
    "put_after_wal_commit": True,
    "put_after_index": True,
}
UPDATE_POINTS = {
    "update_after_wal_intent": False,
    "update_sidecar_temp": False,
    "update_after_sidecar": True,
    "update_after_wal_commit": True,
    "update_after_index": True,
}
DELETE_POINTS = {
    "delete_after_wal_intent": False,
    "delete_after_sidecar": True,
    "delete_after_data": True,
    "delete_after_wal_commit": True,
    "delete_after_index": True,
}
QUARANTINE_POINTS = {  # point -> is acked-1 (a byte flipped on disk) quarantined?
    "quarantine_after_wal_intent": False,
    "quarantine_after_data_move": True,
    "quarantine_sidecar_temp": True,
    "quarantine_after_sidecar": True,
    "quarantine_after_wal_commit": True,
    "quarantine_after_index": True,
}
ACKED = {"acked-1": os.urandom(200_000), "acked-2": b"second acknowledged file"}
FLIPPED = ACKED["acked-1"][:100_000] + bytes([ACKED["acked-1"][100_000] ^ 1]) + ACKED["acked-1"][100_001:]
VICTIM = os.urandom(3 * 1024 * 1024 + 17)  # several 1 MiB chunks: put_mid_stream happens mid-body


@dataclass
class Scenario:
    point: str
    settings: Settings
    log: Path


@pytest.fixture
async def scenarios(
    database_url: str, tmp_path: Path
) -> AsyncIterator[Callable[[list[str]], list[Scenario]]]:
    created: list[str] = []

    def make(points: list[str]) -> list[Scenario]:
        out = []
        for i, point in enumerate(points):
            url = make_url(database_url)
            name = f"{url.database}_{i}"
            created.append(name)
            base = tmp_path / point
            out.append(
                Scenario(
                    point,
                    Settings(
                        env="test",
                        database_url=url.set(database=name).render_as_string(False),
                        se_id="se-crash",
                        root=base / "data",
                        state_dir=base / "state",
                        initial_mode="edit",
                        admin_url="http://127.0.0.1:9",
                        http_retries=0,
                        jwt_issuer="http://artstore.test/admin",
                        jwks_min_refresh_seconds=0,
                        retention_interval_seconds=3600,
                    ),
                    base / "se.log",
                )
            )
        return out

    yield make
    url = make_url(database_url)
    admin = await asyncpg.connect(
        url.set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    try:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def _baseline(start_se: Any, scenario: Scenario) -> None:
    async with start_se(scenario.settings) as se:
        for file_id, data in ACKED.items():
            assert (await se.put(file_id, data)).status_code == 201
        if scenario.point.startswith("quarantine"):  # a byte rots on disk: verify finds it
            (se.settings.root / _sidecar(se, "acked-1").path).write_bytes(FLIPPED)


def _sidecar(se: SE, file_id: str) -> Sidecar:
    (path,) = se.settings.root.rglob(f"*_{file_id}*.attr.json")
    return Sidecar.load(path.read_bytes())


def _crash_request(proc: process.SEProcess, keys: TestKeys, point: str) -> None:
    auth = {"Authorization": f"Bearer {keys.service('svc-ingester', INGESTER_SCOPES)}"}
    url = proc.url + "/api/v1/files/"
    with httpx.Client(timeout=30) as client:
        try:
            if point.startswith("put"):
                headers = {**auth, "X-ArtStore-Attributes": attributes(original_filename="victim.bin")}
                response = client.put(url + "victim", content=VICTIM, headers=headers)
            elif point.startswith("update"):
                response = client.patch(url + "acked-1", json={"description": "changed"}, headers=auth)
            elif point.startswith("quarantine"):
                response = client.post(url + "acked-1/verify", headers=auth)
            else:  # a saga's delete: its audit event names the target and checksum
                query = {"reason": "relocated", "target": "se-2", "sha256": _sha(ACKED["acked-1"])}
                response = client.delete(url + "acked-1", params=query, headers=auth)
        except httpx.TransportError:
            response = None
    assert response is None, f"{point}: answered {response.status_code} instead of crashing"
    assert proc.wait_exit() == process.KILLED


def _spawn(sc: Scenario, admin_url: str) -> process.SEProcess:
    s = sc.settings
    env = process.se_env(
        database_url=s.database_url,
        root=s.root,
        state_dir=s.state_dir,
        admin_url=admin_url,
        port=process.new_port(),
        ARTSTORE_STORAGE_INITIAL_MODE="edit",
        ARTSTORE_STORAGE_MIGRATE_ON_START="false",
        ARTSTORE_SE_CRASH_AT=sc.point,
    )
    return process.SEProcess(env, sc.log)


def _crash_all(scenarios: list[Scenario], keys: TestKeys, admin_url: str) -> None:
    procs = [_spawn(sc, admin_url) for sc in scenarios]
    try:
        for i, sc in enumerate(scenarios):
            for _attempt in range(3):
                try:
                    procs[i].wait_ready(120)
                    break
                except RuntimeError:  # the port was taken meanwhile: another one
                    procs[i].kill()
                    procs[i] = _spawn(sc, admin_url)
            _crash_request(procs[i], keys, sc.point)
    finally:
        for proc in procs:
            proc.kill()


async def _snapshot(se: SE) -> dict[str, Any]:
    disk = {
        str(p.relative_to(se.settings.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in se.settings.root.rglob("*")
        if p.is_file()
    }
    async with se.store.sessions() as session:
        rows = (await session.execute(sa.select(files.c.file_id, files.c.doc))).all()
        feed = (await session.execute(sa.select(changes.c.seq, changes.c.op, changes.c.file_id))).all()
        gens = (await session.execute(sa.select(generations))).all()
        outbox = (await session.execute(sa.select(outbox_table.c.id, outbox_table.c.event))).all()
    return {
        "disk": disk,
        "outbox": sorted(map(tuple, outbox), key=str),
        "index": sorted(map(tuple, rows), key=str),
        "feed": sorted(map(tuple, feed)),
        "generations": [tuple(g) for g in gens],
        "wal": se.store.wal.open_records(),
    }


async def _content(se: SE, file_id: str) -> bytes | None:
    r = await se.client.get(f"/api/v1/files/{file_id}/content", headers=se.auth())
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.content


EXPECTED = {  # path -> (file id, audit action, audit details, feed op, feed entries before)
    "put": ("victim", "file.upload", {"sha256": _sha(VICTIM), "size": len(VICTIM)}, "upsert", 0),
    "update": ("acked-1", "file.update", {"revision": 2, "fields": ["description"]}, "upsert", 1),
    "delete": (
        "acked-1",
        "file.delete_relocated",
        {"reason": "relocated", "target": "se-2", "target_sha256": _sha(ACKED["acked-1"])},
        "delete",
        0,
    ),
    "quarantine": (
        "acked-1",
        "file.quarantine",
        {"expected_sha256": _sha(ACKED["acked-1"]), "observed_sha256": _sha(FLIPPED)},
        "upsert",
        1,
    ),
}


async def _check_audit_and_feed(se: SE, point: str, changed: bool) -> None:
    """A committed change is audited exactly once (with the request's actor and details)
    and is on the feed once; a change rolled back is in neither."""
    file_id, action, details, op, before = EXPECTED[point.split("_", 1)[0]]
    async with se.store.sessions() as session:
        events = (await session.scalars(sa.select(outbox_table.c.event))).all()
        feed = (await session.execute(sa.select(changes.c.op, changes.c.file_id))).all()
    audited = [e for e in events if e["action"] == action and e["target"] == file_id]
    assert len(audited) == (1 if changed else 0), f"{point}: audit events {audited}"
    for event in audited:
        assert event["actor"]["username"] == "svc-ingester", point
        assert event["details"] | details == event["details"], f"{point}: {event['details']}"
    entries = [row for row in feed if tuple(row) == (op, file_id)]
    assert len(entries) == before + changed, f"{point}: feed {feed}"


async def _check_quarantined(se: SE, point: str, changed: bool) -> None:
    """Quarantined: bytes aside, sidecar (with the request's marker) and index say corrupt."""
    rec = (await se.client.get("/api/v1/files/acked-1", headers=se.auth())).json()
    assert rec["copies"][0]["state"] == ("corrupt" if changed else "committed"), point
    content = await se.client.get("/api/v1/files/acked-1/content", headers=se.auth())
    sidecar = _sidecar(se, "acked-1")
    if not changed:  # the quarantine never happened: the next verify or scrub finds the byte
        assert content.status_code == 200 and content.content == FLIPPED, point
        return
    assert content.status_code == 409 and content.json()["code"] == "corrupt", point
    assert not (se.settings.root / sidecar.path).exists(), point
    assert (se.settings.root / quarantine_key(sidecar.path)).read_bytes() == FLIPPED, point
    assert sidecar.quarantine is not None and sidecar.quarantine.observed_sha256 == _sha(FLIPPED), point


async def _check_after_restart(se: SE, point: str, changed: bool) -> None:
    acked_1_deleted = point.startswith("delete") and changed
    for file_id, data in ACKED.items():
        if file_id == "acked-1" and point.startswith("quarantine"):
            await _check_quarantined(se, point, changed)
            continue
        got = await _content(se, file_id)
        if file_id == "acked-1" and acked_1_deleted:
            assert got is None, point
        else:
            assert got is not None and hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest(), (
                point
            )
    if point.startswith("put"):
        assert await _content(se, "victim") == (VICTIM if changed else None), point
    if point.startswith("update"):
        rec = (await se.client.get("/api/v1/files/acked-1", headers=se.auth())).json()
        assert (rec["description"], rec["revision"]) == (("changed", 2) if changed else ("", 1)), point
    hidden = [p for p in se.settings.root.rglob("*") if p.is_file() and p.name.startswith(".")]
    assert hidden == [], f"{point}: leftovers {hidden}"
    report = await consistency(se.store)
    for key in (
        "missing_in_index",
        "orphaned_in_index",
        "differing",
        "data_without_sidecar",
        "sidecar_without_data",
        "unreadable_sidecars",
    ):
        assert report[key] == [], f"{point}: {key} {report[key]}"
    await _check_audit_and_feed(se, point, changed)
    before = await _snapshot(se)
    assert before["wal"] == []
    again = await recover(se.store)
    assert again == {"rolled_forward": [], "rolled_back": [], "already_indexed": []}
    assert await _snapshot(se) == before, point


async def _run(points: dict[str, bool], start_se: Any, scenarios: Any, keys: TestKeys) -> None:
    made = scenarios(list(points))
    for sc in made:
        await _baseline(start_se, sc)
    with process.jwks_server(keys) as admin_url:
        _crash_all(made, keys, admin_url)
    for sc in made:  # the crash left the window it names: a complete, unrenamed temp sidecar
        temps = list(sc.settings.root.rglob(".*.attr.json.tmp"))
        assert len(temps) == sc.point.endswith("_sidecar_temp"), f"{sc.point}: {temps}"
    for sc in made:
        async with start_se(sc.settings) as se:
            await _check_after_restart(se, sc.point, points[sc.point])
            if sc.point.startswith("put") and points[sc.point]:
                retry = await se.put("victim", VICTIM, original_filename="victim.bin")
                assert retry.status_code == 200, sc.point


async def test_crash_points_of_the_write_path(start_se: Any, scenarios: Any, keys: TestKeys) -> None:
    await _run(PUT_POINTS, start_se, scenarios, keys)


async def test_crash_points_of_update_and_delete(start_se: Any, scenarios: Any, keys: TestKeys) -> None:
    await _run({**UPDATE_POINTS, **DELETE_POINTS}, start_se, scenarios, keys)


async def test_crash_points_of_quarantine(start_se: Any, scenarios: Any, keys: TestKeys) -> None:
    await _run(QUARANTINE_POINTS, start_se, scenarios, keys)


async def test_retry_after_crash_between_commit_and_response_with_a_real_restart(
    database_url: str, tmp_path: Path, keys: TestKeys
) -> None:
    """The real process restarts (WAL recovery before serving) and the client's retry is a 200."""
    common = {"database_url": database_url, "root": tmp_path / "d", "state_dir": tmp_path / "s"}
    auth = {
        "Authorization": f"Bearer {keys.service('svc-ingester', INGESTER_SCOPES)}",
        "X-ArtStore-Attributes": attributes(original_filename="r.bin"),
    }
    with process.jwks_server(keys) as admin_url:
        env = process.se_env(
            admin_url=admin_url,
            port=process.new_port(),
            **common,
            ARTSTORE_SE_CRASH_AT="put_after_wal_commit",
        )
        proc = process.start(env, tmp_path / "log")
        try:
            with pytest.raises(httpx.TransportError):
                httpx.put(proc.url + "/api/v1/files/r1", content=b"retry me", headers=auth, timeout=30)
            assert proc.wait_exit() == process.KILLED
        finally:
            proc.kill()
        proc = process.start(
            process.se_env(admin_url=admin_url, port=process.new_port(), **common), tmp_path / "log"
        )
        try:
            retry = httpx.put(proc.url + "/api/v1/files/r1", content=b"retry me", headers=auth, timeout=30)
            assert retry.status_code == 200
            assert retry.json()["sha256"] == hashlib.sha256(b"retry me").hexdigest()
            other = httpx.put(proc.url + "/api/v1/files/r1", content=b"not me", headers=auth, timeout=30)
            assert other.status_code == 409
        finally:
            proc.kill()
