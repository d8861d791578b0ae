"""Transfer, delete and metadata changes are audited through the ingester's outbox.

Each action writes its event to the ``audit_outbox`` table in the action's own
transaction; the deliverer sends the rows, in order, to the (fake) admin module.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
import httpx

from tests.ingester_module.conftest import Fleet, bearer, copies_on, plain
from tests.support.fake_admin import FakeAdmin
from tests.support.tokens import TestKeys


async def _upload(client: httpx.AsyncClient, token: str, data: bytes, **params: str) -> str:
    response = await client.put(
        "/api/v1/files", params={"filename": "doc.txt", **params}, headers=bearer(token), content=data
    )
    assert response.status_code == 201, response.text
    file_id: str = response.json()["file_id"]
    return file_id


async def _finished_saga(client: httpx.AsyncClient, accepted: httpx.Response, token: str) -> dict[str, Any]:
    assert accepted.status_code == 202, accepted.text
    saga_id = accepted.json()["saga_id"]
    deadline = time.monotonic() + 60
    while True:
        saga: dict[str, Any] = (await client.get(f"/api/v1/sagas/{saga_id}", headers=bearer(token))).json()
        if saga["state"] in ("completed", "failed", "compensated"):
            assert saga["state"] == "completed", saga
            return saga
        assert time.monotonic() < deadline, saga
        await asyncio.sleep(0.1)


async def _outbox(database_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(plain(database_url))
    try:
        return list(await connection.fetch("SELECT id, event, delivered_at FROM audit_outbox ORDER BY seq"))
    finally:
        await connection.close()


async def _all_delivered(database_url: str, timeout: float = 30) -> list[asyncpg.Record]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await _outbox(database_url)
        if all(row["delivered_at"] is not None for row in rows):
            return rows
        assert time.monotonic() < deadline, [r["event"] for r in rows if r["delivered_at"] is None]
        await asyncio.sleep(0.2)


async def test_transfer_delete_and_metadata_changes_are_audited_through_the_outbox(
    fleet: Fleet, ingester: Any, keys: TestKeys, fake_admin: FakeAdmin, database_url: str
) -> None:
    alice = keys.user(username="alice")
    operator = keys.user("OPERATOR", username="olga")
    async with ingester() as (_, client):
        draft = await _upload(client, alice, b"a temporary draft")
        kept = await _upload(client, alice, b"a permanent record", retention_policy="permanent")
        assert await copies_on(keys, fleet.se("rw-1"), kept) is not None

        patched = await client.patch(
            f"/api/v1/files/{draft}",
            json={"description": "reviewed", "tags": ["legal"]},
            headers=bearer(alice),
        )
        assert patched.status_code == 200, patched.text
        transfer = await _finished_saga(
            client,
            await client.post(
                f"/api/v1/files/{kept}/transfer",
                json={"target_storage_element_id": "rw-2"},
                headers=bearer(operator),
            ),
            operator,
        )
        delete = await _finished_saga(
            client, await client.delete(f"/api/v1/files/{draft}", headers=bearer(alice)), alice
        )
        assert await copies_on(keys, fleet.se("edit-1"), draft) is None
        rows = await _all_delivered(database_url)
        # Nothing was refused for good, and the parked counter is on the app's /metrics.
        metrics = (await client.get("/metrics")).text
        assert "artstore_audit_events_parked_total 0.0" in metrics, metrics

    # The outbox: one row per action, in the order they happened, all delivered.
    events = [json.loads(row["event"]) for row in rows]  # asyncpg hands jsonb over as text
    assert [(e["action"], e["target"]) for e in events] == [
        ("file.upload", draft),
        ("file.upload", kept),
        ("file.update", draft),
        ("file.transfer", kept),
        ("file.delete", draft),
    ]
    assert [str(row["id"]) for row in rows] == [e["id"] for e in events]
    by_action = {e["action"]: e for e in events}

    update = by_action["file.update"]
    assert update["service"] == "ingester_module" and update["outcome"] == "success"
    assert update["actor"]["username"] == "alice" and update["actor"]["kind"] == "user"
    assert update["details"] == {"fields": ["description", "tags"], "copies": ["edit-1"]}

    moved = by_action["file.transfer"]
    assert moved["outcome"] == "success" and moved["actor"]["username"] == "olga"
    assert moved["details"]["saga_id"] == transfer["id"] and moved["details"]["state"] == "completed"
    assert (moved["details"]["source"], moved["details"]["target"]) == ("rw-1", "rw-2")

    deleted = by_action["file.delete"]
    assert deleted["outcome"] == "success" and deleted["actor"]["username"] == "alice"
    assert deleted["details"]["saga_id"] == delete["id"] and deleted["details"]["copies"] == ["edit-1"]

    # The admin module received exactly these events (its endpoint is idempotent on the id).
    targets = {draft, kept}
    received = [
        e for e in fake_admin.audit_events if e["service"] == "ingester_module" and e["target"] in targets
    ]
    assert received == events
