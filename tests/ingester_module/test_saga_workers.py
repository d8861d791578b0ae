"""Saga workers under stress: a lease lost mid-step, renewals failing, attempts per step."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx

from shared.discovery import StorageElementInfo
from tests.ingester_module.conftest import Fleet, bearer, copies_on, plain
from tests.ingester_module.test_sagas import _upload, _wait_saga
from tests.support.servers import free_port
from tests.support.tokens import TestKeys

MIB = 1024 * 1024
SLOW = 512 * 1024  # bytes per second: an 8 MiB copy takes about 16 s


async def _finalize(client: httpx.AsyncClient, token: str, file_id: str) -> str:
    accepted = await client.post(f"/api/v1/files/{file_id}/finalize", headers=bearer(token))
    assert accepted.status_code == 202, accepted.text
    saga_id: str = accepted.json()["saga_id"]
    return saga_id


async def _saga(client: httpx.AsyncClient, token: str, saga_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/sagas/{saga_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _until_copying(client: httpx.AsyncClient, token: str, saga_id: str) -> None:
    deadline = time.monotonic() + 30
    while not any(
        s["name"] == "copy" and s["state"] == "running"
        for s in (await _saga(client, token, saga_id))["steps"]
    ):
        assert time.monotonic() < deadline, "the copy did not start"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # well into the stream


async def _slow_then_quick(
    app: Any, client: httpx.AsyncClient, token: str, take_lease: Any
) -> tuple[str, str, dict[str, Any]]:
    """Start a slow finalize, ``take_lease`` under its copy, then run a quick one on the same worker."""
    slow_file = await _upload(client, token, bytes(8 * MIB))
    slow_saga = await _finalize(client, token, slow_file)
    await _until_copying(client, token, slow_saga)
    await take_lease(uuid.UUID(slow_saga))
    app.state.saga_worker.copy_bytes_per_second = 0  # later copies run at full speed
    quick_file = await _upload(client, token, b"quick one")
    quick = await _wait_saga(client, await _finalize(client, token, quick_file), token, timeout=60)
    assert quick["state"] == "completed", quick  # the single worker lived on and took the next saga
    return slow_file, slow_saga, quick


async def test_a_lease_taken_away_stops_that_saga_and_the_worker_goes_on(
    fleet: Fleet, ingester: Any, keys: TestKeys, database_url: str
) -> None:
    rw = fleet.se("rw-1")
    token = keys.user()
    db = await asyncpg.connect(plain(database_url))
    try:

        async def take_lease(saga_id: uuid.UUID) -> None:  # as a replica would after a long pause
            await db.execute(
                "UPDATE sagas SET lease_owner = 'another-replica', lease_until = now() + interval '1 hour' "
                "WHERE id = $1",
                saga_id,
            )

        async with ingester(saga_workers=1, saga_copy_bytes_per_second=SLOW) as (app, client):
            slow_file, slow_saga, _ = await _slow_then_quick(app, client, token, take_lease)
            stopped = await _saga(client, token, slow_saga)
            # Stopped mid-copy, long before the 16 s the copy needs: nothing reached rw-1.
            assert stopped["state"] == "running", stopped
            assert {s["name"]: s["state"] for s in stopped["steps"]} == {"copy": "running"}
            assert await copies_on(keys, rw, slow_file) is None
            owner = await db.fetchval("SELECT lease_owner FROM sagas WHERE id = $1", uuid.UUID(slow_saga))
            assert owner == "another-replica"  # the worker wrote nothing after losing the lease
    finally:
        await db.close()


async def test_a_lease_that_cannot_be_renewed_stops_the_saga_before_it_runs_out(
    fleet: Fleet, ingester: Any, keys: TestKeys, database_url: str
) -> None:
    rw, edit = fleet.se("rw-1"), fleet.se("edit-1")
    token = keys.user()
    db = await asyncpg.connect(plain(database_url))
    lock = db.transaction()
    try:

        async def block_renewals(saga_id: uuid.UUID) -> None:  # every renewal now fails (lock timeout)
            await lock.start()
            await db.execute("SELECT 1 FROM sagas WHERE id = $1 FOR UPDATE", saga_id)

        async with ingester(saga_workers=1, saga_copy_bytes_per_second=SLOW) as (app, client):
            slow_file, slow_saga, _ = await _slow_then_quick(app, client, token, block_renewals)
            assert await copies_on(keys, rw, slow_file) is None  # the copy was stopped, not finished
            await lock.rollback()
            # The lease it could not renew runs out; the saga resumes and completes once.
            done = await _wait_saga(client, slow_saga, token, timeout=60)
        assert done["state"] == "completed", done
        assert await copies_on(keys, edit, slow_file) is None
        moved = await copies_on(keys, rw, slow_file)
        assert moved is not None and moved["size"] == 8 * MIB and moved["retention_policy"] == "permanent"
    finally:
        await db.close()


async def test_saga_max_attempts_counts_each_step_not_the_whole_saga(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    live = [StorageElementInfo.from_dict(se.info()) for se in (edit, rw)]
    down = [live[0], StorageElementInfo.from_dict({**rw.info(), "url": f"http://127.0.0.1:{free_port()}"})]
    token = keys.user()
    # No background worker: this test runs the one below by hand, one attempt per call.
    async with ingester(saga_workers=0, saga_max_attempts=3, saga_backoff_base_seconds=0) as (app, client):
        worker, discovery = app.state.saga_worker, app.state.discovery
        saga_id = await _finalize(client, token, await _upload(client, token, b"tried and tried"))
        discovery.replace(down)
        assert await worker.run_once() and await worker.run_once()  # copy fails twice (of 3)
        saga = await _saga(client, token, saga_id)
        assert [(s["name"], s["state"], s["attempts"]) for s in saga["steps"]] == [("copy", "failed", 2)]

        async def target_down_after_copy(_: dict[str, Any], step: str) -> None:
            if step == "copy":
                discovery.replace(down)

        discovery.replace(live)
        worker.after_step = target_down_after_copy
        assert await worker.run_once() and await worker.run_once()  # copy done; verify fails twice
        saga = await _saga(client, token, saga_id)
        assert saga["state"] == "running" and saga["attempts"] == 4, saga  # 4 failures, 2 per step
        steps = {s["name"]: (s["state"], s.get("attempts")) for s in saga["steps"]}
        assert steps == {"copy": ("done", None), "verify": ("failed", 2)}

        discovery.replace(live)
        worker.after_step = None
        assert await worker.run_once()
        saga = await _saga(client, token, saga_id)
    assert saga["state"] == "completed", saga
    assert [s["name"] for s in saga["steps"]] == ["copy", "verify", "commit", "remove_source"]
    assert await copies_on(keys, rw, saga["file_id"]) is not None
    assert await copies_on(keys, edit, saga["file_id"]) is None
