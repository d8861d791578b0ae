"""The hash-chained audit log: queries, verification against tampering, the internal batch
endpoint, and another service's outbox delivered to it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from admin_module.audit.chain import GENESIS, row_hash
from admin_module.models import audit_events
from shared.auth import Principal
from shared.db import create_engine, session_factory, unit_of_work
from shared.outbox import OutboxDeliverer, audit_event, outbox_table, record
from shared.service_token import ServiceTokenProvider
from tests.admin_module.conftest import FLEET_SECRETS, Admin

PASSWORD = "audit-test-password-1"


async def _some_activity(admin: Admin) -> dict[str, str]:
    headers = await admin.headers()
    for name in ("ann", "ben", "cat"):
        await admin.create_user(name, PASSWORD)
    await admin.login("ann", "wrong-password-00")
    return headers


async def _verify(admin: Admin, headers: dict[str, str]) -> dict[str, Any]:
    response = await admin.client.get("/api/v1/audit-events/verify", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _tamper(admin: Admin, statement: str, **params: Any) -> None:
    """Edit the log as someone with the table owner's rights would: switch the guard off first."""
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        await conn.execute(sa.text(statement), params)
        await conn.execute(sa.text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


async def _rows(admin: Admin) -> list[Any]:
    async with admin.app.state.engine.connect() as conn:
        return list(
            await conn.execute(sa.text("SELECT seq, id, action, outcome FROM audit_events ORDER BY seq"))
        )


async def test_the_chain_verifies_and_an_edited_row_is_reported(admin: Admin) -> None:
    headers = await _some_activity(admin)
    report = await _verify(admin, headers)
    rows = await _rows(admin)
    assert report == {
        "ok": True,
        "checked": len(rows),
        "first_bad": None,
        "first_bad_seq": None,
        "reason": None,
    }
    victim = next(r for r in rows if r.action == "auth.login" and r.outcome == "failure")
    edit = "UPDATE audit_events SET outcome = 'success' WHERE seq = :s"
    async with admin.app.state.engine.begin() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await conn.execute(sa.text(edit), {"s": victim.seq})
    await _tamper(admin, edit, s=victim.seq)
    report = await _verify(admin, headers)
    assert report["ok"] is False
    assert report["first_bad"] == str(victim.id) and report["first_bad_seq"] == victim.seq
    assert "edited" in report["reason"]


async def test_a_deleted_row_is_detected_at_the_next_one(admin: Admin) -> None:
    headers = await _some_activity(admin)
    rows = await _rows(admin)
    async with admin.app.state.engine.begin() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await conn.execute(sa.text("DELETE FROM audit_events WHERE seq = :s"), {"s": rows[2].seq})
    await _tamper(admin, "DELETE FROM audit_events WHERE seq = :s", s=rows[2].seq)
    report = await _verify(admin, headers)
    assert report["ok"] is False and report["first_bad"] == str(rows[3].id)
    assert "removed or inserted" in report["reason"]


async def test_editing_a_hash_too_does_not_hide_the_edit(admin: Admin) -> None:
    headers = await _some_activity(admin)
    rows = await _rows(admin)
    await _tamper(
        admin,
        "UPDATE audit_events SET target = 'someone-else', hash = repeat('a', 64) WHERE seq = :s",
        s=rows[1].seq,
    )
    report = await _verify(admin, headers)
    assert report["ok"] is False and report["first_bad"] == str(rows[1].id)


async def _full_rows(admin: Admin) -> list[dict[str, Any]]:
    async with admin.app.state.engine.connect() as conn:
        result = await conn.execute(sa.select(audit_events).order_by(audit_events.c.seq))
        return [dict(r) for r in result.mappings()]


def _forged(template: dict[str, Any], *, seq: int, prev_hash: str) -> dict[str, Any]:
    """A row as an intruder would write it: copied from a real one, made to say something else,
    with a well-formed hash over its own content and the ``prev_hash`` it claims to follow."""
    row = template | {
        "seq": seq,
        "id": uuid.uuid4(),
        "action": "user.role_changed",
        "target": "mallory",
        "details": {"role": "ADMIN"},
        "prev_hash": prev_hash,
    }
    row["hash"] = row_hash(row, prev_hash)
    return row


@pytest.mark.parametrize("where", ["start", "middle", "end"])
async def test_an_inserted_row_is_detected(admin: Admin, where: str) -> None:
    headers = await _some_activity(admin)
    rows = await _full_rows(admin)
    assert (await _verify(admin, headers))["ok"] is True and len(rows) >= 6
    middle = len(rows) // 2
    if where == "start":
        # Before the first row, claiming to start the chain: the first real row no longer follows it.
        forged = _forged(rows[1], seq=rows[0]["seq"] - 1, prev_hash=GENESIS)
        next_row, next_seq, checked = rows[0], rows[0]["seq"], 2
    elif where == "middle":
        # Make room (later rows move up one seq), then a row that links properly to its predecessor:
        # its own links hold, the row after it no longer points at it.
        shift = rows[middle]["seq"]
        await _tamper(admin, "UPDATE audit_events SET seq = -seq - 1 WHERE seq >= :s", s=shift)
        await _tamper(admin, "UPDATE audit_events SET seq = -seq WHERE seq < 0")
        forged = _forged(rows[1], seq=shift, prev_hash=rows[middle - 1]["hash"])
        next_row, next_seq, checked = rows[middle], shift + 1, middle + 2
    else:
        # After the last row, claiming the last row's predecessor as its own (a fork of the chain).
        forged = _forged(rows[1], seq=rows[-1]["seq"] + 1, prev_hash=rows[-1]["prev_hash"])
        next_row, next_seq, checked = forged, forged["seq"], len(rows) + 1
    # Append-only means inserts are allowed: the database itself does not stop this one.
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(sa.insert(audit_events), [forged])
    assert len(await _rows(admin)) == len(rows) + 1

    report = await _verify(admin, headers)
    assert report["ok"] is False
    assert report["first_bad"] == str(next_row["id"]) and report["first_bad_seq"] == next_seq
    assert report["checked"] == checked
    assert "removed or inserted" in report["reason"]


async def test_listing_filters_and_cursor_paging(admin: Admin) -> None:
    headers = await _some_activity(admin)
    created = (
        await admin.client.get("/api/v1/audit-events", params={"action": "user.created"}, headers=headers)
    ).json()
    # Newest first; the bootstrap ADMIN was created at start-up, by no one.
    assert [e["target"] for e in created["items"]] == ["cat", "ben", "ann", "admin"]
    assert all(e["actor"]["username"] == "admin" for e in created["items"][:3])
    assert created["items"][3]["actor"] is None
    assert all(e["service"] == "admin_module" for e in created["items"])
    page = (await admin.client.get("/api/v1/audit-events", params={"limit": 2}, headers=headers)).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (
        await admin.client.get(
            "/api/v1/audit-events", params={"limit": 500, "cursor": page["next_cursor"]}, headers=headers
        )
    ).json()
    seqs = [e["seq"] for e in page["items"] + rest["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs) == len(await _rows(admin))
    assert rest["next_cursor"] is None
    failures = (
        await admin.client.get("/api/v1/audit-events", params={"outcome": "failure"}, headers=headers)
    ).json()["items"]
    assert [e["target"] for e in failures] == ["ann"]
    by_actor = (
        await admin.client.get("/api/v1/audit-events", params={"actor": "admin"}, headers=headers)
    ).json()
    assert {e["action"] for e in by_actor["items"]} >= {"auth.login", "user.created"}
    future = (
        await admin.client.get(
            "/api/v1/audit-events", params={"since": "2100-01-01T00:00:00Z"}, headers=headers
        )
    ).json()
    assert future["items"] == []
    user_headers = {"Authorization": f"Bearer {await admin.token('ann', PASSWORD)}"}
    assert (await admin.client.get("/api/v1/audit-events", headers=user_headers)).status_code == 403


async def test_if_the_audit_write_fails_the_action_fails(admin: Admin) -> None:
    headers = await admin.headers()
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$ "
                "LANGUAGE plpgsql"
            )
        )
        await conn.execute(
            sa.text("CREATE TRIGGER refuse BEFORE INSERT ON audit_events EXECUTE FUNCTION refuse()")
        )
    transport = httpx.ASGITransport(app=admin.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as client:
        response = await client.post(
            "/api/v1/users", json={"username": "never", "password": PASSWORD}, headers=headers
        )
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(sa.text("DROP TRIGGER refuse ON audit_events"))
        assert await conn.scalar(sa.text("SELECT count(*) FROM users WHERE username = 'never'")) == 0


def _event(action: str, **extra: Any) -> dict[str, Any]:
    actor = Principal(subject="u-1", username="uploader", kind="user", role="USER")
    event = audit_event(service="ingester_module", action=action, actor=actor, target="file-1", **extra)
    return event


async def _service_headers(admin: Admin, client_id: str, secret: str) -> dict[str, str]:
    response = await admin.client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_internal_batch_is_idempotent_and_needs_audit_write(admin: Admin) -> None:
    events = [_event("file.uploaded"), _event("file.downloaded", details={"bytes": 12})]
    url = "/internal/v1/audit-events"
    service = await _service_headers(admin, "svc-ingester", FLEET_SECRETS["svc-ingester"])
    first = await admin.client.post(url, json={"events": events}, headers=service)
    assert first.status_code == 200 and first.json() == {"accepted": 2, "duplicates": 0}
    again = await admin.client.post(url, json={"events": [*events, _event("file.deleted")]}, headers=service)
    assert again.json() == {"accepted": 1, "duplicates": 2}
    # The same id twice in one batch is one event.
    twice = _event("file.finalized")
    assert (await admin.client.post(url, json={"events": [twice, twice]}, headers=service)).json() == {
        "accepted": 1,
        "duplicates": 1,
    }

    admin_headers = await admin.headers()
    assert (await admin.client.post(url, json={"events": events}, headers=admin_headers)).status_code == 403
    created = await admin.client.post(
        "/api/v1/service-accounts",
        json={"name": "Reporting", "scopes": ["files:read"]},
        headers=admin_headers,
    )
    reporting = await _service_headers(admin, created.json()["client_id"], created.json()["client_secret"])
    assert (await admin.client.post(url, json={"events": events}, headers=reporting)).status_code == 403
    assert (await admin.client.post(url, json={"events": events})).status_code == 401

    stored = (
        await admin.client.get("/api/v1/audit-events", params={"actor": "uploader"}, headers=admin_headers)
    ).json()["items"]
    assert [e["action"] for e in stored] == [
        "file.finalized",
        "file.deleted",
        "file.downloaded",
        "file.uploaded",
    ]
    assert stored[2]["details"] == {"bytes": 12} and stored[2]["service"] == "ingester_module"
    assert stored[2]["submitted_by"] == "svc-ingester"
    assert (await _verify(admin, admin_headers))["ok"] is True


async def test_another_services_outbox_is_delivered_once_in_order(
    admin: Admin, other_database_url: str
) -> None:
    engine = create_engine(other_database_url, pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(outbox_table.create)
        sessions = session_factory(engine)
        async with unit_of_work(sessions) as session:
            for i in range(5):
                await record(session, _event("file.downloaded", details={"n": i}))

        down = httpx.AsyncClient(base_url="http://127.0.0.1:9")  # the admin is unreachable
        async with down:
            tokens = ServiceTokenProvider(
                down, "http://127.0.0.1:9/api/v1/auth/token", "svc-query", FLEET_SECRETS["svc-query"]
            )
            outage = OutboxDeliverer(sessions, down, tokens, "http://127.0.0.1:9")
            with pytest.raises(Exception):  # noqa: B017 (any transport error)
                await outage.deliver_once()

        transport = httpx.ASGITransport(app=admin.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as http:
            tokens = ServiceTokenProvider(
                http, "http://admin.test/api/v1/auth/token", "svc-query", FLEET_SECRETS["svc-query"]
            )
            deliverer = OutboxDeliverer(sessions, http, tokens, "http://admin.test", batch_size=3)
            assert await deliverer.deliver_once() == 3
            assert await deliverer.deliver_once() == 2
            assert await deliverer.deliver_once() == 0
            # The acknowledgement was lost: the outbox sends everything again; nothing doubles.
            async with engine.begin() as conn:
                await conn.execute(sa.update(outbox_table).values(delivered_at=None))
            assert await deliverer.deliver_once() == 3
            assert await deliverer.deliver_once() == 2

        async with engine.connect() as conn:
            pending = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(outbox_table)
                .where(outbox_table.c.delivered_at.is_(None))
            )
            outbox_ids = [
                str(i) for i in await conn.scalars(sa.select(outbox_table.c.id).order_by(outbox_table.c.seq))
            ]
        assert pending == 0
    finally:
        await engine.dispose()

    headers = await admin.headers()
    items = (
        await admin.client.get("/api/v1/audit-events", params={"action": "file.downloaded"}, headers=headers)
    ).json()["items"]
    assert [e["id"] for e in reversed(items)] == outbox_ids
    assert [e["details"]["n"] for e in reversed(items)] == [0, 1, 2, 3, 4]
    assert all(datetime.fromisoformat(e["occurred_at"]) <= datetime.now(UTC) for e in items)
    assert uuid.UUID(items[0]["id"])
    assert (await _verify(admin, headers))["ok"] is True


async def test_removing_the_newest_rows_is_detected_by_the_chain_head(admin: Admin) -> None:
    headers = await _some_activity(admin)
    rows = await _full_rows(admin)
    assert (await _verify(admin, headers))["ok"] is True
    # The newest two rows go: no later row points at them, only the head remembers them.
    await _tamper(admin, "DELETE FROM audit_events WHERE seq >= :s", s=rows[-2]["seq"])
    report = await _verify(admin, headers)
    assert report["ok"] is False and report["first_bad"] is None
    assert report["first_bad_seq"] == rows[-3]["seq"] and report["checked"] == len(rows) - 2
    assert "newest rows were removed" in report["reason"]
    # Moving the head back as well needs the key-encryption key, which the database lacks.
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE audit_chain_head SET seq = :s, hash = :h"),
            {"s": rows[-3]["seq"], "h": rows[-3]["hash"]},
        )
    report = await _verify(admin, headers)
    assert report["ok"] is False and "head was edited" in report["reason"]
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM audit_chain_head"))
    report = await _verify(admin, headers)
    assert report["ok"] is False and "head is missing" in report["reason"]


async def test_a_well_chained_row_appended_in_sql_is_detected_by_the_chain_head(admin: Admin) -> None:
    headers = await _some_activity(admin)
    rows = await _full_rows(admin)
    # Unlike the fork above, this row links properly to the last one: only the head tells.
    forged = _forged(rows[1], seq=rows[-1]["seq"] + 1, prev_hash=rows[-1]["hash"])
    async with admin.app.state.engine.begin() as conn:
        await conn.execute(sa.insert(audit_events), [forged])
    report = await _verify(admin, headers)
    assert report["ok"] is False and report["checked"] == len(rows) + 1
    assert "not written by the admin module" in report["reason"]


async def test_verify_holds_while_events_keep_arriving(admin: Admin) -> None:
    headers = await _some_activity(admin)

    async def activity() -> None:
        for attempt in range(15):
            await admin.login("ann", f"wrong-password-{attempt:02}")

    writer = asyncio.create_task(activity())
    reports = []
    while not writer.done():
        reports.append(await _verify(admin, headers))
    await writer
    reports.append(await _verify(admin, headers))
    assert len(reports) >= 2 and all(r["ok"] for r in reports), [r for r in reports if not r["ok"]]
    assert reports[-1]["checked"] == len(await _rows(admin))
