"""Uploads through the ingester to real storage elements: fields, limits, placement."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from shared.discovery import StorageElementInfo
from tests.ingester_module.conftest import Fleet, bearer, copies_on, count_on
from tests.support.fake_admin import FakeAdmin
from tests.support.servers import Managed
from tests.support.tokens import TestKeys

PDF = b"%PDF-1.7\n" + b"0123456789" * 10_000


async def _multipart(
    client: httpx.AsyncClient, token: str, data: bytes = PDF, **fields: Any
) -> httpx.Response:
    name = fields.pop("filename", "report")
    ctype = fields.pop("content_type", "application/octet-stream")
    return await client.post(
        "/api/v1/files", headers=bearer(token), data=fields, files={"file": (name, data, ctype)}
    )


async def test_multipart_upload_keeps_fields_owner_and_detects_type(
    fleet: Fleet, ingester: Any, keys: TestKeys, fake_admin: FakeAdmin
) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    async with ingester() as (app, client):
        response = await _multipart(
            client,
            keys.user(username="alice"),
            description="quarterly report",
            tags=["finance", "q3"],
            metadata=json.dumps({"dept": "accounting", "year": 2026}),
            ttl_days="7",
        )
        assert response.status_code == 201, response.text
        record = response.json()
        assert record["content_type"] == "application/pdf"  # magic bytes, the part said octet-stream
        assert record["sha256"] == hashlib.sha256(PDF).hexdigest() and record["size"] == len(PDF)
        assert record["storage_element_id"] == "edit-1" and record["retention_policy"] == "temporary"
        on_se = await copies_on(keys, edit, record["file_id"])
        assert on_se is not None
        assert on_se["owner"]["username"] == "alice" and on_se["owner"]["kind"] == "user"
        assert on_se["tags"] == ["finance", "q3"] and on_se["metadata"] == {
            "dept": "accounting",
            "year": 2026,
        }
        assert on_se["description"] == "quarterly report" and on_se["expires_at"] is not None
        assert await copies_on(keys, rw, record["file_id"]) is None

        permanent = await _multipart(
            client, keys.user(), filename="a.txt", content_type="text/plain", retention_policy="permanent"
        )
        assert permanent.status_code == 201, permanent.text
        assert permanent.json()["storage_element_id"] == "rw-1"
        assert permanent.json()["content_type"] == "text/plain"  # the part's own type wins
        await app.state.outbox.deliver_once()
    targets = {record["file_id"], permanent.json()["file_id"]}
    uploads = [
        e for e in fake_admin.audit_events if e["service"] == "ingester_module" and e["target"] in targets
    ]
    assert len(uploads) == 2
    assert all(e["action"] == "file.upload" and e["actor"]["username"] == "alice" for e in uploads)


async def test_raw_put_is_the_same_upload_with_query_fields(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    edit = fleet.se("edit-1")
    body = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100
    async with ingester() as (_, client):
        response = await client.put(
            "/api/v1/files",
            params=[("filename", "pic"), ("tags", "x"), ("tags", "y"), ("metadata", '{"a": "b"}')],
            headers=bearer(keys.user()),
            content=body,
        )
        assert response.status_code == 201, response.text
        record = response.json()
        assert record["content_type"] == "image/png" and record["original_filename"] == "pic"
        assert record["tags"] == ["x", "y"] and record["metadata"] == {"a": "b"}

        async def chunked() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b"abc" * 1000

        streamed = await client.put(
            "/api/v1/files", params={"filename": "notes.txt"}, headers=bearer(keys.user()), content=chunked()
        )
        assert streamed.status_code == 201, streamed.text
        assert streamed.json()["size"] == 12_000 and streamed.json()["content_type"] == "text/plain"
        assert (await copies_on(keys, edit, streamed.json()["file_id"])) is not None


async def test_fields_are_validated_before_any_byte_reaches_an_se(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    edit = fleet.se("edit-1")
    before = await count_on(keys, edit)
    token = keys.user()
    bad = [
        {"description": "d" * 4097},
        {"tags": [f"t{i}" for i in range(51)]},
        {"tags": ["x" * 65]},
        {"metadata": json.dumps({"k": "v" * 9000})},
        {"metadata": "{not json"},
        {"metadata": "[1, 2]"},
        {"retention_policy": "forever"},
        {"retention_policy": "permanent", "retain_until": "2001-01-01T00:00:00Z"},
        {"ttl_days": "0"},
    ]
    async with ingester() as (_app, client):
        for fields in bad:
            response = await _multipart(client, token, **fields)
            assert response.status_code == 422, (fields, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"], fields
        at_limit = await _multipart(
            client,
            token,
            description="é" * 2048,
            tags=[f"{i:064d}" for i in range(50)],
            metadata=json.dumps({"k": "v" * 8000}),
        )
        assert at_limit.status_code == 201, at_limit.text
        # A field after the file part is checked before the SE commits: a bad one aborts it.
        boundary = "b0undary"
        raw = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n{"d" * 4097}\r\n'
            f"--{boundary}--\r\n"
        ).encode()
        late = await client.post(
            "/api/v1/files",
            headers={**bearer(token), "Content-Type": f"multipart/form-data; boundary={boundary}"},
            content=raw,
        )
        assert late.status_code == 422, late.text
        no_file = await client.post(
            "/api/v1/files", headers=bearer(token), data={"description": "x"}, files={}
        )
        assert no_file.status_code == 422
        assert await count_on(keys, edit) == before + 1  # only the upload at the limits


async def test_maximum_size_is_413_and_nothing_is_committed(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    edit = fleet.se("edit-1")
    before = await count_on(keys, edit)
    async with ingester(max_upload_bytes=100_000) as (_, client):
        declared = await client.put(
            "/api/v1/files", params={"filename": "big"}, headers=bearer(keys.user()), content=b"x" * 100_001
        )
        assert declared.status_code == 413 and declared.json()["code"] == "too_large"

        async def endless() -> AsyncIterator[bytes]:
            for _ in range(50):
                yield b"y" * 10_000

        streamed = await client.put(
            "/api/v1/files", params={"filename": "big"}, headers=bearer(keys.user()), content=endless()
        )
        assert streamed.status_code == 413, streamed.text
        multipart = await _multipart(client, keys.user(), data=b"z" * 200_000)
        assert multipart.status_code == 413
        assert await count_on(keys, edit) == before


async def test_rights_unauthenticated_and_without_write_scope(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    async with ingester() as (_, client):
        anonymous = await client.put("/api/v1/files", params={"filename": "a"}, content=b"a")
        assert anonymous.status_code == 401 and "bearer" in anonymous.headers["www-authenticate"].lower()
        reader = keys.token(scope="files:read")
        assert (await _multipart(client, reader)).status_code == 403
        service = keys.service("svc-batch", "files:write")
        response = await _multipart(client, service)
        assert response.status_code == 201
        assert response.json()["owner"] == {"id": "svc-batch", "username": "svc-batch", "kind": "service"}


async def test_placement_skips_a_full_and_a_stopped_se(fleet: Fleet, ingester: Any, keys: TestKeys) -> None:
    full, stopped, spare = await fleet.start_ses(
        ("edit-full", "edit", 1, 50_000), ("edit-down", "edit", 2, 0), ("edit-spare", "edit", 3, 0)
    )
    stopped.process.kill()
    async with ingester() as (app, client):
        # The full SE answers 507 to its reservation before a byte is sent; the stopped one
        # refuses the connection; the third takes the file, whole and intact.
        response = await _multipart(client, keys.user())
        assert response.status_code == 201, response.text
        assert response.json()["storage_element_id"] == "edit-spare"
        stored = await copies_on(keys, spare, response.json()["file_id"])
        assert stored is not None and stored["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert await copies_on(keys, full, response.json()["file_id"]) is None
        # Raw bodies too, with an exact length.
        raw = await client.put(
            "/api/v1/files", params={"filename": "r"}, headers=bearer(keys.user()), content=PDF
        )
        assert raw.status_code == 201 and raw.json()["storage_element_id"] == "edit-spare"
        # A small file still fits on the preferred SE.
        small = await _multipart(client, keys.user(), data=b"tiny")
        assert small.json()["storage_element_id"] == "edit-full"
        # After repeated connection failures the breaker skips the stopped SE without trying.
        for _ in range(2):
            await _multipart(client, keys.user())
        assert app.state.breakers.is_open("edit-down")

        spare.process.kill()
        nothing = await _multipart(client, keys.user())
        assert nothing.status_code == 503 and nothing.json()["code"] == "no_storage_available"
        permanent = await _multipart(client, keys.user(), retention_policy="permanent")
        assert permanent.status_code == 503  # no rw SE at all


async def test_uploads_keep_working_with_redis_stopped(
    fleet: Fleet, ingester: Any, keys: TestKeys, private_redis: Managed
) -> None:
    async with ingester(redis_url=private_redis.url) as (_app, client):
        before = await _multipart(client, keys.user())
        assert before.status_code == 201
        private_redis.stop()
        await asyncio.sleep(0.2)
        after = await _multipart(client, keys.user(), data=b"after redis")
        assert after.status_code == 201, after.text
        raw = await client.put(
            "/api/v1/files", params={"filename": "r"}, headers=bearer(keys.user()), content=b"r"
        )
        assert raw.status_code == 201
        ready = await client.get("/health/ready")
        assert ready.json()["checks"]["redis"]["status"] != "ok"


async def test_multipart_placement_skips_an_se_discovery_reports_too_full(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    rw1, rw2 = fleet.se("rw-1"), fleet.se("rw-2")
    # Discovery says rw-1 (preferred) has 1 KiB left; the request's Content-Length is larger.
    nearly_full = {**rw1.info(), "capacity": {"total": 10 * 1024 * 1024, "free": 1024}}
    async with ingester() as (app, client):
        app.state.discovery.replace(
            [StorageElementInfo.from_dict(nearly_full), StorageElementInfo.from_dict(rw2.info())]
        )
        response = await _multipart(client, keys.user(), retention_policy="permanent")
        assert response.status_code == 201, response.text
        assert response.json()["storage_element_id"] == "rw-2"  # not even asked: the size was known
        small = await _multipart(client, keys.user(), data=b"tiny", retention_policy="permanent")
        assert small.json()["storage_element_id"] == "rw-1"  # a file that fits still goes there
