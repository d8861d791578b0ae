"""Sagas against real storage elements: finalize, transfer, delete, batch; crash and compensation."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ingester_module.sagas.worker import SagaWorker
from shared.discovery import StorageElementInfo
from tests.ingester_module.conftest import Fleet, bearer, copies_on, second_copy
from tests.support.fake_admin import FakeAdmin
from tests.support.servers import free_port
from tests.support.tokens import TestKeys

FINISHED = {"completed", "failed", "compensated"}


async def _upload(
    client: httpx.AsyncClient, token: str, data: bytes = b"document body", **params: str
) -> str:
    response = await client.put(
        "/api/v1/files", params={"filename": "doc.txt", **params}, headers=bearer(token), content=data
    )
    assert response.status_code == 201, response.text
    file_id: str = response.json()["file_id"]
    return file_id


async def _wait_saga(
    client: httpx.AsyncClient, saga_id: str, token: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/v1/sagas/{saga_id}", headers=bearer(token))
        assert response.status_code == 200, response.text
        saga: dict[str, Any] = response.json()
        if saga["state"] in FINISHED:
            return saga
        assert time.monotonic() < deadline, saga
        await asyncio.sleep(0.1)


async def test_finalize_makes_one_permanent_copy_and_removes_the_temporary_one(
    fleet: Fleet, ingester: Any, keys: TestKeys, fake_admin: FakeAdmin
) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    token = keys.user()
    until = (datetime.now(UTC) + timedelta(days=3650)).replace(microsecond=0)
    async with ingester() as (app, client):
        file_id = await _upload(client, token, description="keep me", tags="t1")
        accepted = await client.post(
            f"/api/v1/files/{file_id}/finalize",
            json={"retain_until": until.isoformat()},
            headers=bearer(token),
        )
        assert accepted.status_code == 202, accepted.text
        saga = await _wait_saga(client, accepted.json()["saga_id"], token)
        assert saga["state"] == "completed", saga
        assert saga["kind"] == "finalize" and saga["target_storage_element_id"] == "rw-1"
        assert [s["name"] for s in saga["steps"]] == ["copy", "verify", "commit", "remove_source"]
        assert all(s["state"] == "done" for s in saga["steps"])
        assert await copies_on(keys, edit, file_id) is None
        permanent = await copies_on(keys, rw, file_id)
        assert permanent is not None
        assert permanent["retention_policy"] == "permanent" and permanent["copies"][0]["state"] == "committed"
        assert datetime.fromisoformat(permanent["retain_until"].replace("Z", "+00:00")) == until
        assert permanent["description"] == "keep me" and permanent["tags"] == ["t1"]
        assert permanent["owner"]["username"] == "alice"
        again = await client.post(f"/api/v1/files/{file_id}/finalize", headers=bearer(token))
        assert again.status_code == 409  # not temporary any more
        await app.state.outbox.deliver_once()
    # The fake admin serves the whole session: look at this file's events only.
    finalized = [
        e for e in fake_admin.audit_events if e["action"] == "file.finalize" and e["target"] == file_id
    ]
    assert len(finalized) == 1 and finalized[0]["outcome"] == "success"


async def test_finalize_survives_sigkill_of_the_ingester_mid_copy(
    fleet: Fleet, database_url: str, keys: TestKeys
) -> None:
    rw = fleet.se("rw-1")
    rate = 2 * 1024 * 1024
    ingester = fleet.start_ingester(database_url, saga_copy_bytes_per_second=rate, saga_lease_seconds=2)
    token = keys.user()
    data = bytes(range(256)) * (32 * 1024)  # 8 MiB: about four seconds at the throttled rate
    async with httpx.AsyncClient(base_url=ingester.url, timeout=60) as client:
        file_id = await _upload(client, token, data)
        saga_id = (await client.post(f"/api/v1/files/{file_id}/finalize", headers=bearer(token))).json()[
            "saga_id"
        ]
        deadline = time.monotonic() + 30
        while True:
            saga = (await client.get(f"/api/v1/sagas/{saga_id}", headers=bearer(token))).json()
            if any(s["name"] == "copy" and s["state"] == "running" for s in saga["steps"]):
                break
            assert time.monotonic() < deadline, saga
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        ingester.kill()  # SIGKILL in the middle of the stream to rw-1
    assert await copies_on(keys, rw, file_id) is None  # nothing committed on the target yet
    ingester.start(extra_env={"ARTSTORE_INGESTER_SAGA_COPY_BYTES_PER_SECOND": "0"})
    async with httpx.AsyncClient(base_url=ingester.url, timeout=60) as client:
        saga = await _wait_saga(client, saga_id, token)
    assert saga["state"] == "completed", saga
    holders = {se.id: await copies_on(keys, se, file_id) for se in fleet.shared}
    assert {se_id for se_id, rec in holders.items() if rec is not None} == {"rw-1"}  # no temporary copy left
    on_rw = holders["rw-1"]
    assert on_rw is not None and on_rw["size"] == len(data)
    assert on_rw["retention_policy"] == "permanent" and on_rw["copies"][0]["state"] == "committed"


async def test_a_saga_retries_with_backoff_until_its_target_answers(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    token = keys.user()
    async with ingester(saga_max_attempts=30, breaker_reset_seconds=0.3) as (app, client):
        down = StorageElementInfo.from_dict({**rw.info(), "url": f"http://127.0.0.1:{free_port()}"})
        app.state.discovery.replace([StorageElementInfo.from_dict(edit.info()), down])
        file_id = await _upload(client, token)
        saga_id = (await client.post(f"/api/v1/files/{file_id}/finalize", headers=bearer(token))).json()[
            "saga_id"
        ]
        deadline = time.monotonic() + 30
        while (saga := (await client.get(f"/api/v1/sagas/{saga_id}", headers=bearer(token))).json())[
            "attempts"
        ] < 2:
            assert time.monotonic() < deadline, saga
            await asyncio.sleep(0.1)
        assert saga["state"] == "running" and saga["error"].startswith("copy:")
        app.state.discovery.replace([StorageElementInfo.from_dict(se.info()) for se in (edit, rw)])
        saga = await _wait_saga(client, saga_id, token)
    assert saga["state"] == "completed" and saga["attempts"] >= 2, saga
    assert await copies_on(keys, edit, file_id) is None
    assert await copies_on(keys, rw, file_id) is not None


def _corrupt(root: Path, file_id: str) -> None:
    [data] = [p for p in root.rglob(f"*{file_id}*") if p.is_file() and not p.name.endswith(".attr.json")]
    raw = bytearray(data.read_bytes())
    raw[0] ^= 0xFF
    data.write_bytes(bytes(raw))


async def test_a_copy_failing_verification_is_compensated(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    token = keys.user()
    async with ingester() as (app, client):

        async def corrupt_target(saga: dict[str, Any], step: str) -> None:
            if step == "copy":
                _corrupt(rw.root, saga["file_id"])

        app.state.saga_worker.after_step = corrupt_target
        file_id = await _upload(client, token, b"precious bytes" * 1000)
        saga_id = (await client.post(f"/api/v1/files/{file_id}/finalize", headers=bearer(token))).json()[
            "saga_id"
        ]
        saga = await _wait_saga(client, saga_id, token)
    assert saga["state"] == "compensated", saga
    assert "failed verification" in saga["error"]
    assert {s["name"]: s["state"] for s in saga["steps"]} == {
        "copy": "done",
        "verify": "failed",
        "remove_pending": "done",
    }
    assert await copies_on(keys, rw, file_id) is None  # the pending copy is gone
    source = await copies_on(keys, edit, file_id)
    assert source is not None and source["retention_policy"] == "temporary"  # untouched


async def test_transfer_from_rw_under_retention_and_the_role_table(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    rw1, rw2 = fleet.se("rw-1"), fleet.se("rw-2")
    user, operator = keys.user(), keys.user("OPERATOR", username="olga")
    until = datetime.now(UTC) + timedelta(days=365)
    async with ingester() as (_, client):
        file_id = await _upload(
            client, user, b"retained" * 1000, retention_policy="permanent", retain_until=until.isoformat()
        )
        assert (await copies_on(keys, rw1, file_id)) is not None
        # A USER cannot transfer, nor delete a permanent file; an OPERATOR cannot delete it either.
        denied = await client.post(
            f"/api/v1/files/{file_id}/transfer",
            json={"target_storage_element_id": "rw-2"},
            headers=bearer(user),
        )
        assert denied.status_code == 403
        assert (await client.delete(f"/api/v1/files/{file_id}", headers=bearer(user))).status_code == 403
        retained = await client.delete(f"/api/v1/files/{file_id}", headers=bearer(operator))
        assert retained.status_code == 409 and retained.json()["code"] == "retention_active"

        moved = await client.post(
            f"/api/v1/files/{file_id}/transfer",
            json={"target_storage_element_id": "rw-2"},
            headers=bearer(operator),
        )
        assert moved.status_code == 202, moved.text
        saga = await _wait_saga(client, moved.json()["saga_id"], operator)
        assert saga["state"] == "completed", saga
        assert (await client.get(f"/api/v1/sagas/{saga['id']}", headers=bearer(user))).status_code == 404
    assert await copies_on(keys, rw1, file_id) is None  # removed with a relocated delete despite retention
    target = await copies_on(keys, rw2, file_id)
    assert target is not None and target["copies"][0]["state"] == "committed"
    assert target["retention_policy"] == "permanent" and target["retain_until"] is not None
    assert datetime.fromisoformat(target["retain_until"].replace("Z", "+00:00")) > datetime.now(UTC)


async def test_delete_rules_and_saga(fleet: Fleet, ingester: Any, keys: TestKeys) -> None:
    edit = fleet.se("edit-1")
    alice, bob = keys.user(username="alice"), keys.user(username="bob")
    operator = keys.user("OPERATOR", username="olga")
    async with ingester() as (_, client):
        file_id = await _upload(client, alice)
        assert (await client.delete(f"/api/v1/files/{file_id}", headers=bearer(bob))).status_code == 403
        assert (
            await client.post(f"/api/v1/files/{file_id}/finalize", headers=bearer(bob))
        ).status_code == 403
        hold = await client.patch(
            f"/api/v1/files/{file_id}", json={"legal_hold": True}, headers=bearer(alice)
        )
        assert hold.status_code == 403  # legal hold is for OPERATOR+
        held = await client.patch(
            f"/api/v1/files/{file_id}", json={"legal_hold": True}, headers=bearer(operator)
        )
        assert held.status_code == 200 and held.json()["legal_hold"] is True
        blocked = await client.delete(f"/api/v1/files/{file_id}", headers=bearer(alice))
        assert blocked.status_code == 409 and blocked.json()["code"] == "legal_hold"
        await client.patch(f"/api/v1/files/{file_id}", json={"legal_hold": False}, headers=bearer(operator))
        accepted = await client.delete(f"/api/v1/files/{file_id}", headers=bearer(alice))
        assert accepted.status_code == 202, accepted.text
        saga = await _wait_saga(client, accepted.json()["saga_id"], alice)
        assert saga["state"] == "completed" and saga["kind"] == "delete"
        assert await copies_on(keys, edit, file_id) is None
        gone = await client.delete(f"/api/v1/files/{file_id}", headers=bearer(alice))
        assert gone.status_code == 404


async def test_metadata_patch_reaches_every_copy(fleet: Fleet, ingester: Any, keys: TestKeys) -> None:
    rw1, rw2 = fleet.se("rw-1"), fleet.se("rw-2")
    alice, bob = keys.user(username="alice"), keys.user(username="bob")
    operator = keys.user("OPERATOR", username="olga")
    async with ingester() as (_, client):
        file_id = await _upload(client, alice, b"twice stored", retention_policy="permanent")
        moved = await client.post(
            f"/api/v1/files/{file_id}/transfer",
            json={"target_storage_element_id": "rw-2"},
            headers=bearer(operator),
        )
        saga = await _wait_saga(client, moved.json()["saga_id"], operator)
        assert saga["state"] == "completed"
        # Put the file back on rw-1 as a second committed copy, as replication would.
        await second_copy(keys, rw2, rw1, file_id)
        denied = await client.patch(
            f"/api/v1/files/{file_id}", json={"description": "x"}, headers=bearer(bob)
        )
        assert denied.status_code == 403
        invalid = await client.patch(
            f"/api/v1/files/{file_id}", json={"tags": ["t" * 65]}, headers=bearer(alice)
        )
        assert invalid.status_code == 422
        changed = await client.patch(
            f"/api/v1/files/{file_id}",
            json={"description": "updated", "tags": ["new"], "metadata": {"v": 2}},
            headers=bearer(alice),
        )
        assert changed.status_code == 200, changed.text
        assert {c["storage_element_id"] for c in changed.json()["copies"]} == {"rw-1", "rw-2"}
    for se in (rw1, rw2):
        record = await copies_on(keys, se, file_id)
        assert record is not None, se.id
        assert (record["description"], record["tags"], record["metadata"]) == ("updated", ["new"], {"v": 2})


async def test_batch_starts_one_saga_per_file_and_workers_share_the_log(
    fleet: Fleet, ingester: Any, keys: TestKeys, fake_admin: FakeAdmin
) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    token = keys.user()
    unknown = "00000000-0000-4000-8000-000000000000"
    async with ingester() as (app, client):
        # A second worker on the same saga log, as another replica would run: each saga
        # must still run exactly once (FOR UPDATE SKIP LOCKED plus the lease).
        other = SagaWorker(
            app.state.sessions,
            storage=app.state.storage,
            discovery=app.state.discovery,
            breakers=app.state.breakers,
            interval=0.05,
            lease=3,
        )
        other_task = asyncio.create_task(other.run())
        ids = [await _upload(client, token, f"file {n}".encode()) for n in range(6)]
        response = await client.post(
            "/api/v1/batch",
            json={"operation": "finalize", "file_ids": [*ids, unknown]},
            headers=bearer(token),
        )
        assert response.status_code == 202, response.text
        results = response.json()["results"]
        assert [r["file_id"] for r in results] == [*ids, unknown]
        assert all(r["saga_id"] for r in results[:-1])
        assert results[-1]["error"]["status"] == 404 and results[-1]["saga_id"] is None
        for r in results[:-1]:
            assert (await _wait_saga(client, r["saga_id"], token))["state"] == "completed"
        other_task.cancel()
        await asyncio.gather(other_task, return_exceptions=True)
        await app.state.outbox.deliver_once()
    for file_id in ids:
        assert await copies_on(keys, edit, file_id) is None
        moved = await copies_on(keys, rw, file_id)
        assert moved is not None and moved["retention_policy"] == "permanent"
    saga_ids = {r["saga_id"] for r in results[:-1]}
    finished = [
        e["details"]["saga_id"] for e in fake_admin.audit_events if e["details"].get("saga_id") in saga_ids
    ]
    assert sorted(finished) == sorted(saga_ids)  # one completion each, none twice


async def test_openapi_documents_the_ingester_contract(fleet: Fleet, ingester: Any) -> None:
    async with ingester() as (_, client):
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"post", "put"} <= set(paths["/api/v1/files"])
    assert "multipart/form-data" in paths["/api/v1/files"]["post"]["requestBody"]["content"]
    assert {"patch", "delete"} <= set(paths["/api/v1/files/{file_id}"])
    for path in ("/api/v1/files/{file_id}/finalize", "/api/v1/files/{file_id}/transfer", "/api/v1/batch"):
        assert "post" in paths[path]
    assert "get" in paths["/api/v1/sagas/{saga_id}"]
    assert {"head", "patch", "delete"} <= set(paths["/api/v1/tus/{upload_id}"])
