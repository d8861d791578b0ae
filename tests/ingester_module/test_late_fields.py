"""Multipart fields after the file part (curl's order): checked before the SE commits,
applied by a PATCH right after it, before the 201 (ADR 0003, "Fields after the file")."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ingester_module.clients.storage import StorageClient
from shared.discovery import StorageElementInfo
from tests.ingester_module.conftest import Fleet, bearer, copies_on, count_on
from tests.support.fake_admin import FakeAdmin
from tests.support.tokens import TestKeys

BOUNDARY = "late-fields-b0undary"
DATA = b"%PDF-1.7\n" + b"late fields " * 2000


def form(*parts: tuple[str, str | bytes]) -> bytes:
    """A multipart body with its parts in exactly this order; ``file`` is the file part."""
    out = bytearray()
    for name, value in parts:
        out += f"--{BOUNDARY}\r\n".encode()
        if name == "file":
            out += b'Content-Disposition: form-data; name="file"; filename="report.pdf"\r\n'
            out += b"Content-Type: application/pdf\r\n\r\n"
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value if isinstance(value, bytes) else value.encode()
        out += b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


async def post(client: httpx.AsyncClient, token: str, *parts: tuple[str, str | bytes]) -> httpx.Response:
    headers = {**bearer(token), "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return await client.post("/api/v1/files", headers=headers, content=form(*parts))


def _expires(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["expires_at"])


async def test_curl_order_fields_are_in_the_201_record_and_on_the_se(
    fleet: Fleet, ingester: Any, keys: TestKeys, fake_admin: FakeAdmin
) -> None:
    edit = fleet.se("edit-1")
    metadata = {"dept": "accounting", "year": 2026}
    async with ingester() as (app, client):
        # curl -F file=@report.pdf -F description=... -F tags=finance -F tags=q3 -F metadata=...
        response = await post(
            client,
            keys.user(username="alice"),
            ("file", DATA),
            ("description", "quarterly report"),
            ("tags", "finance"),
            ("tags", "q3"),
            ("metadata", json.dumps(metadata)),
            ("retention_policy", "temporary"),  # what placement assumed: accepted
            ("ttl_days", "3"),
        )
        assert response.status_code == 201, response.text
        record = response.json()
        assert record["description"] == "quarterly report"
        assert record["tags"] == ["finance", "q3"] and record["metadata"] == metadata
        assert record["storage_element_id"] == "edit-1" and record["retention_policy"] == "temporary"
        expected = datetime.now(UTC) + timedelta(days=3)
        assert abs(_expires(record) - expected) < timedelta(minutes=5)  # not the 30-day default
        on_se = await copies_on(keys, edit, record["file_id"])
        assert on_se is not None
        assert on_se["description"] == "quarterly report" and on_se["tags"] == ["finance", "q3"]
        assert on_se["metadata"] == metadata and on_se["expires_at"] == record["expires_at"]
        assert on_se["owner"]["username"] == "alice" and on_se["size"] == len(DATA)

        # Fields on both sides: combined exactly as if all had come first (tags add up, the
        # last description wins).
        mixed = await post(
            client,
            keys.user(),
            ("description", "draft"),
            ("tags", "before"),
            ("file", DATA),
            ("tags", "after"),
            ("description", "final"),
        )
        assert mixed.status_code == 201, mixed.text
        assert mixed.json()["tags"] == ["before", "after"] and mixed.json()["description"] == "final"
        on_se = await copies_on(keys, edit, mixed.json()["file_id"])
        assert on_se is not None and on_se["tags"] == ["before", "after"]
        await app.state.outbox.deliver_once()
    events = [e for e in fake_admin.audit_events if e["target"] == record["file_id"]]
    upload = next(e for e in events if e["service"] == "ingester_module")
    assert upload["action"] == "file.upload" and upload["actor"]["username"] == "alice"
    assert upload["details"]["fields_after_file"] == ["description", "tags", "metadata", "ttl_days"]
    assert upload["details"]["fields_after_file_applied"] is True


async def test_invalid_fields_after_the_file_are_422_and_nothing_is_stored(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    before_edit, before_rw = await count_on(keys, edit), await count_on(keys, rw)
    token = keys.user()
    bad: list[tuple[tuple[str, str | bytes], ...]] = [
        (("file", DATA), ("description", "d" * 4097)),
        (("file", DATA), *(("tags", f"t{i}") for i in range(51))),
        (("file", DATA), ("metadata", json.dumps({"k": "v" * 9000}))),
        (("file", DATA), ("metadata", "{not json")),
        (("file", DATA), ("ttl_days", "0")),
        (("file", DATA), ("file", DATA)),  # a second file part
    ]
    async with ingester() as (app, client):
        for parts in bad:
            response = await post(client, token, *parts)
            assert response.status_code == 422, (parts[1][0], response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"], parts[1][0]
        too_long = await post(client, token, ("file", DATA), ("description", "d" * 4097))
        assert too_long.json()["code"] == "invalid_field"
        assert too_long.json()["errors"][0]["loc"] == ["description"]
        # The rule that gives 422 before the file gives the same 422 after it.
        first = await post(client, token, ("description", "d" * 4097), ("file", DATA))
        assert (first.status_code, first.json()["errors"]) == (422, too_long.json()["errors"])
        # The broken bodies were the client's fault, not the SE's: its breaker stays closed
        # and a good upload still lands on it.
        assert not app.state.breakers.is_open("edit-1")
        good = await post(client, token, ("file", DATA), ("description", "fine"))
        assert good.status_code == 201 and good.json()["storage_element_id"] == "edit-1"
    # The SE saw each bad body break before its end: it rolled those uploads back.
    assert await count_on(keys, edit) == before_edit + 1
    assert await count_on(keys, rw) == before_rw


async def test_retention_after_the_file(fleet: Fleet, ingester: Any, keys: TestKeys) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    before_edit, before_rw = await count_on(keys, edit), await count_on(keys, rw)
    token = keys.user()
    async with ingester() as (_, client):
        # Placement chose an edit SE for a temporary file before the first byte.
        late_policy = await post(client, token, ("file", DATA), ("retention_policy", "permanent"))
        assert late_policy.status_code == 422, late_policy.text
        assert late_policy.json()["errors"][0]["loc"] == ["retention_policy"]
        assert "send retention_policy before the file part" in late_policy.json()["detail"]
        # Permanent is kept indefinitely unless retain_until came first: a date after the
        # file would shorten it, which the SE never allows.
        until = (datetime.now(UTC) + timedelta(days=400)).isoformat()
        late_until = await post(
            client, token, ("retention_policy", "permanent"), ("file", DATA), ("retain_until", until)
        )
        assert late_until.status_code == 422, late_until.text
        assert "send retain_until before the file part" in late_until.json()["detail"]
        # ttl_days means nothing for a permanent file, before or after.
        late_ttl = await post(
            client, token, ("retention_policy", "permanent"), ("file", DATA), ("ttl_days", "5")
        )
        assert late_ttl.status_code == 422, late_ttl.text
        assert await count_on(keys, edit) == before_edit and await count_on(keys, rw) == before_rw

        # Lengthening a retain_until sent before the file is a change the SE accepts.
        later = (datetime.now(UTC) + timedelta(days=800)).replace(microsecond=0)
        extended = await post(
            client,
            token,
            ("retention_policy", "permanent"),
            ("retain_until", until),
            ("file", DATA),
            ("retention_policy", "permanent"),  # the same as placement: accepted
            ("retain_until", later.isoformat()),
        )
        assert extended.status_code == 201, extended.text
        assert extended.json()["storage_element_id"] == "rw-1"
        assert datetime.fromisoformat(extended.json()["retain_until"]) == later
        on_se = await copies_on(keys, rw, extended.json()["file_id"])
        assert on_se is not None and datetime.fromisoformat(on_se["retain_until"]) == later


async def test_a_failed_follow_up_patch_is_502_naming_the_stored_file(
    fleet: Fleet, ingester: Any, keys: TestKeys, fake_admin: FakeAdmin
) -> None:
    (se,) = await fleet.start_ses(("rw-late", "rw", 1, 0))
    operator = bearer(keys.user("OPERATOR", "olga"))
    async with ingester() as (app, client):
        storage: StorageClient = app.state.uploader.storage
        real_patch = storage.patch

        async def patch_after_going_read_only(
            target: StorageElementInfo, file_id: str, changes: Any
        ) -> dict[str, Any]:
            # Between the commit and the PATCH the SE turns read-only: its real PATCH
            # then refuses with 409 mode_forbids.
            async with httpx.AsyncClient(base_url=se.url, headers=operator) as admin:
                switched = await admin.post("/api/v1/mode", json={"mode": "ro"})
                assert switched.status_code == 200, switched.text
            return await real_patch(target, file_id, changes)

        storage.patch = patch_after_going_read_only  # type: ignore[method-assign,assignment]
        response = await post(
            client,
            keys.user(username="alice"),
            ("retention_policy", "permanent"),
            ("file", DATA),
            ("description", "never applied"),
            ("tags", "lost"),
        )
        assert response.status_code == 502, response.text
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["code"] == "attributes_not_applied"
        assert problem["storage_element_id"] == "rw-late"
        assert problem["missing_fields"] == ["description", "tags"]
        file_id = problem["file_id"]
        assert file_id in problem["detail"] and "mode_forbids" in problem["detail"]
        on_se = await copies_on(keys, se, file_id)
        assert on_se is not None and on_se["size"] == len(DATA)
        assert on_se["description"] == "" and on_se["tags"] == []
        await app.state.outbox.deliver_once()
    upload = next(
        e for e in fake_admin.audit_events if e["target"] == file_id and e["service"] == "ingester_module"
    )
    assert upload["action"] == "file.upload"
    assert upload["details"]["fields_after_file"] == ["description", "tags"]
    assert upload["details"]["fields_after_file_applied"] is False
