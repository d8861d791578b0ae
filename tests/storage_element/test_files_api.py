"""Upload, record, content and feed through the HTTP API (local disk, real Postgres)."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.outbox import outbox_table
from storage_element.storage.backends.memory import MemoryBackend
from tests.storage_element.conftest import SE, attributes


async def test_upload_read_and_feed(se: SE) -> None:
    data = b"hello archive\n" * 1000
    r = await se.put(
        "f1",
        data,
        original_filename="Отчёт 2026.txt",
        description="quarterly report",
        tags=["finance"],
        metadata={"dept": "accounting"},
    )
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["sha256"] == hashlib.sha256(data).hexdigest()
    assert rec["size"] == len(data)
    assert rec["original_filename"] == "Отчёт 2026.txt"
    assert rec["copies"] == [{"storage_element_id": "se-test-1", "mode": "rw", "state": "committed"}]
    assert rec["status"] == "available" and rec["revision"] == 1

    got = await se.client.get("/api/v1/files/f1", headers=se.auth())
    assert got.json() == rec
    content = await se.client.get("/api/v1/files/f1/content", headers=se.auth())
    assert content.status_code == 200 and content.content == data
    assert content.headers["etag"] == f'"sha256:{rec["sha256"]}"'
    assert (
        "filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%202026.txt" in content.headers["content-disposition"]
    )

    feed = await se.changes()
    upserts = [i for i in feed["items"] if i["op"] == "upsert"]
    assert upserts[-1]["record"] == rec and upserts[-1]["file_id"] == "f1"
    assert feed["last_seq"] == feed["items"][-1]["seq"]


async def test_same_content_is_200_other_content_is_409(se: SE) -> None:
    assert (await se.put("dup", b"one")).status_code == 201
    again = await se.put("dup", b"one")
    assert again.status_code == 200 and again.json()["revision"] == 1
    other = await se.put("dup", b"two")
    assert other.status_code == 409 and other.json()["code"] == "exists"
    assert (await se.client.get("/api/v1/files/dup/content", headers=se.auth())).content == b"one"


async def test_checksum_mismatch_leaves_nothing(se: SE) -> None:
    r = await se.put("bad", b"payload", headers={"X-ArtStore-Expected-Sha256": "0" * 64})
    assert r.status_code == 422 and r.json()["code"] == "checksum_mismatch"
    assert (await se.client.get("/api/v1/files/bad", headers=se.auth())).status_code == 404
    assert [p for p in se.settings.root.rglob("*") if p.is_file()] == []
    good = await se.put(
        "bad", b"payload", headers={"X-ArtStore-Expected-Sha256": hashlib.sha256(b"payload").hexdigest()}
    )
    assert good.status_code == 201


async def test_zero_byte_and_chunked_upload_with_reserve(se: SE) -> None:
    assert (await se.put("empty", b"")).json()["size"] == 0

    async def body() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 1000

    headers = {**se.auth(), "X-ArtStore-Reserve-Bytes": "5000", "X-ArtStore-Attributes": attributes()}
    r = await se.client.put("/api/v1/files/chunked", content=body(), headers=headers)
    assert r.status_code == 201 and r.json()["size"] == 3000
    assert se.store.capacity.reserved == 0
    small = {**headers, "X-ArtStore-Reserve-Bytes": "100"}
    r = await se.client.put("/api/v1/files/chunked2", content=body(), headers=small)
    assert r.status_code == 413
    assert (await se.client.get("/api/v1/files/chunked2", headers=se.auth())).status_code == 404


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (lambda k: k.user("ADMIN", "root"), 403),
        (lambda k: k.service("svc-query", "files:read"), 403),
        (lambda k: k.service("svc-x", "files:write files:everything"), 403),
        (lambda k: "not-a-token", 401),
    ],
)
async def test_upload_refused_without_a_service_token_with_the_scope(se: SE, token: Any, status: int) -> None:
    r = await se.client.put(
        "/api/v1/files/nope", content=b"x", headers={"Authorization": f"Bearer {token(se.keys)}"}
    )
    assert r.status_code == status
    assert (await se.client.put("/api/v1/files/nope", content=b"x")).status_code == 401


async def test_owner_from_attributes_only_on_behalf(se: SE) -> None:
    owner = {"id": "u-42", "username": "bob", "kind": "user"}
    r = await se.put("mine", b"1", owner=owner)
    assert r.json()["owner"] == owner
    plain = {
        **se.auth("files:write files:read", "svc-batch"),
        "X-ArtStore-Attributes": attributes(owner=owner),
    }
    r = await se.client.put("/api/v1/files/theirs", content=b"1", headers=plain)
    assert r.json()["owner"] == {"id": "svc-batch", "username": "svc-batch", "kind": "service"}


@pytest.mark.parametrize(
    "attrs",
    [
        {"description": "d" * 4097},
        {"tags": ["t"] * 51},
        {"tags": ["x" * 65]},
        {"metadata": {"k": "v" * 8200}},
    ],
)
async def test_attribute_limits(se: SE, attrs: dict[str, Any]) -> None:
    r = await se.put("limits", b"1", **attrs)
    assert r.status_code == 422


async def test_attributes_header_limit_and_bad_ids(se: SE) -> None:
    headers = {**se.auth(), "X-ArtStore-Attributes": "A" * (16 * 1024 + 1)}
    assert (await se.client.put("/api/v1/files/big-attrs", content=b"1", headers=headers)).status_code == 422
    assert (await se.put("..", b"1")).status_code in (404, 422)
    assert (await se.put("a.b", b"1")).status_code == 422


@pytest.mark.parametrize("backend_kind", ["local", "memory"])
@pytest.mark.parametrize(
    ("range_header", "status", "expected"),
    [
        ("bytes=0-4", 206, b"01234"),
        ("bytes=5-", 206, b"56789"),
        ("bytes=-3", 206, b"789"),
        ("bytes=8-100", 206, b"89"),
        ("bytes=10-", 416, None),
        ("bytes=-0", 416, None),
        ("bytes=abc", 200, b"0123456789"),
    ],
)
async def test_range_requests(
    start_se: Any, backend_kind: str, range_header: str, status: int, expected: bytes | None
) -> None:
    backend = MemoryBackend() if backend_kind == "memory" else None
    async with start_se(backend_impl=backend) as se:
        await se.put("r", b"0123456789")
        r = await se.client.get("/api/v1/files/r/content", headers={**se.auth(), "Range": range_header})
        assert r.status_code == status, r.text
        if expected is not None:
            assert r.content == expected
        if status == 206:
            assert r.headers["content-range"].endswith("/10")
        if status == 416:
            assert r.headers["content-range"] == "bytes */10"


@pytest.mark.parametrize("backend_kind", ["local", "memory"])
async def test_etag_if_none_match_if_range_and_head(start_se: Any, backend_kind: str) -> None:
    backend = MemoryBackend() if backend_kind == "memory" else None
    async with start_se(backend_impl=backend) as se:
        tag = f'"sha256:{(await se.put("e", b"0123456789")).json()["sha256"]}"'
        url = "/api/v1/files/e/content"
        r = await se.client.get(url, headers={**se.auth(), "If-None-Match": tag})
        assert r.status_code == 304 and r.headers["etag"] == tag
        r = await se.client.get(url, headers={**se.auth(), "Range": "bytes=0-1", "If-Range": tag})
        assert r.status_code == 206 and r.content == b"01"
        r = await se.client.get(
            url, headers={**se.auth(), "Range": "bytes=0-1", "If-Range": '"sha256:other"'}
        )
        assert r.status_code == 200 and r.content == b"0123456789"
        head = await se.client.head(url, headers=se.auth())
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == "10" and head.headers["etag"] == tag


async def test_listing_keyset_pages_and_search(se: SE) -> None:
    await se.put("a1", b"1", original_filename="invoice.pdf", description="Годовой отчёт")
    await se.put("a2", b"2", original_filename="photo.jpg", tags=["holiday"])
    await se.put("a3", b"3", original_filename="notes.txt", metadata={"project": "apollo"})
    page = (await se.client.get("/api/v1/files?limit=2", headers=se.auth())).json()
    assert [i["file_id"] for i in page["items"]] == ["a1", "a2"]
    rest = (
        await se.client.get(f"/api/v1/files?limit=2&cursor={page['next_cursor']}", headers=se.auth())
    ).json()
    assert [i["file_id"] for i in rest["items"]] == ["a3"] and rest["next_cursor"] is None
    assert (await se.client.get("/api/v1/files?cursor=%%%", headers=se.auth())).status_code == 422

    async def search(q: str) -> list[str]:
        body = (await se.client.get("/api/v1/files", params={"q": q}, headers=se.auth())).json()
        return [i["file_id"] for i in body["items"]]

    assert await search("отчёты") == ["a1"]  # russian stemming
    assert await search("holidays") == ["a2"]  # english stemming
    assert await search("apollo") == ["a3"]  # metadata values
    assert await search("invoice") == ["a1"]


async def test_patch_updates_sidecar_index_and_feed(se: SE) -> None:
    await se.put("p", b"1")
    r = await se.client.patch(
        "/api/v1/files/p", json={"description": "new", "tags": ["a"], "legal_hold": True}, headers=se.auth()
    )
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["revision"] == 2 and rec["description"] == "new" and rec["legal_hold"] is True
    sidecar = next(se.settings.root.rglob("*.attr.json")).read_text()
    assert '"revision": 2' in sidecar and '"legal_hold": true' in sidecar
    feed = await se.changes()
    assert feed["items"][-1]["record"] == rec


async def test_saga_copy_state_and_deletes(se: SE) -> None:
    r = await se.put(
        "s",
        b"copy",
        headers={"X-ArtStore-Copy-State": "pending"},
        retention={"policy": "permanent", "retain_until": None},
    )
    assert r.json()["copies"][0]["state"] == "pending"
    no_relocate = se.auth("files:write files:read", "svc-other")
    assert (
        await se.client.patch("/api/v1/files/s", json={"copy_state": "committed"}, headers=no_relocate)
    ).status_code == 403
    r = await se.client.patch("/api/v1/files/s", json={"copy_state": "committed"}, headers=se.auth())
    assert r.json()["copies"][0]["state"] == "committed"
    # committed permanent: an ordinary delete is refused, a pending delete too
    assert (await se.client.delete("/api/v1/files/s", headers=se.auth())).json()["code"] == "retention_active"
    assert (await se.client.delete("/api/v1/files/s?reason=pending", headers=se.auth())).status_code == 409
    sha = r.json()["sha256"]
    wrong = await se.client.delete(
        f"/api/v1/files/s?reason=relocated&target=se-2&sha256={'0' * 64}", headers=se.auth()
    )
    assert wrong.status_code == 409
    ok = await se.client.delete(
        f"/api/v1/files/s?reason=relocated&target=se-2&sha256={sha}", headers=se.auth()
    )
    assert ok.status_code == 204
    assert (await se.client.get("/api/v1/files/s", headers=se.auth())).status_code == 404
    feed = await se.changes()
    assert feed["items"][-1] == {"seq": feed["last_seq"], "op": "delete", "file_id": "s", "record": None}
    async with se.store.sessions() as session:
        events = (await session.scalars(sa.select(outbox_table.c.event))).all()
    relocated = next(e for e in events if e["action"] == "file.delete_relocated")
    assert relocated["details"]["target"] == "se-2" and relocated["details"]["target_sha256"] == sha
    assert relocated["actor"]["username"] == "svc-ingester"


async def test_pending_copy_removed_by_compensation(se: SE) -> None:
    await se.put(
        "pend",
        b"half",
        headers={"X-ArtStore-Copy-State": "pending"},
        retention={"policy": "permanent", "legal_hold": True},
    )
    plain = await se.client.delete("/api/v1/files/pend", headers=se.auth())
    assert plain.status_code == 409 and plain.json()["code"] == "legal_hold"
    no_scope = se.auth("files:delete files:read", "svc-other")
    assert (await se.client.delete("/api/v1/files/pend?reason=pending", headers=no_scope)).status_code == 403
    assert (await se.client.delete("/api/v1/files/pend?reason=pending", headers=se.auth())).status_code == 204
    assert list(se.settings.root.rglob("pend*")) == []


async def test_feed_seq_is_gapless_under_concurrent_uploads(se: SE) -> None:
    before = (await se.changes())["last_seq"]
    results = await asyncio.gather(*(se.put(f"c{i}", f"body {i}".encode()) for i in range(12)))
    assert all(r.status_code == 201 for r in results)
    feed = await se.changes(after=before)
    assert [i["seq"] for i in feed["items"]] == list(range(before + 1, before + 13))
    assert {i["file_id"] for i in feed["items"]} == {f"c{i}" for i in range(12)}


async def test_data_removed_after_its_sidecar_was_read_is_a_404_not_an_empty_200(
    se: SE, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saga's delete of the source copy can land between reading the sidecar and opening
    the data; the answer must be a 404 before any status line (the query module then tries
    the next copy), never a 200 with a Content-Length and no body."""
    data = b"moved away" * 1000
    assert (await se.put("moving", data)).status_code == 201
    store = se.store
    find = store.find

    async def find_then_lose_the_data(file_id: str) -> Any:
        sidecar = await find(file_id)
        if sidecar is not None:
            store.backend.path(sidecar.path).unlink()  # type: ignore[attr-defined]
        return sidecar

    monkeypatch.setattr(store, "find", find_then_lose_the_data)
    r = await se.client.get("/api/v1/files/moving/content", headers=se.auth())
    assert r.status_code == 404, (r.status_code, r.headers, len(r.content))
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "file_not_found"


async def test_verify_finds_a_flipped_byte(se: SE) -> None:
    await se.put("v", b"0123456789")
    assert (await se.client.post("/api/v1/files/v/verify", headers=se.auth())).json()["ok"] is True
    data_file = next(
        p for p in se.settings.root.rglob("*") if p.is_file() and not p.name.endswith(".attr.json")
    )
    raw = bytearray(data_file.read_bytes())
    raw[3] ^= 0x01
    data_file.write_bytes(bytes(raw))
    r = (await se.client.post("/api/v1/files/v/verify", headers=se.auth())).json()
    assert r["ok"] is False
    content = await se.client.get("/api/v1/files/v/content", headers=se.auth())
    assert content.status_code == 409 and content.json()["code"] == "corrupt"
    rec = (await se.client.get("/api/v1/files/v", headers=se.auth())).json()
    assert rec["status"] == "corrupt" and rec["copies"][0]["state"] == "corrupt"
    assert (await se.changes())["items"][-1]["record"]["copies"][0]["state"] == "corrupt"
    assert list((se.settings.root / ".quarantine").rglob("v*"))


async def test_memory_does_not_grow_with_file_size(se: SE) -> None:
    block = b"m" * (1024 * 1024)
    total = 48

    async def body() -> AsyncIterator[bytes]:
        for _ in range(total):
            yield block

    headers = {**se.auth(), "X-ArtStore-Attributes": attributes(), "Content-Length": str(total * len(block))}
    tracemalloc.start()
    try:
        r = await se.client.put("/api/v1/files/large", content=body(), headers=headers)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 201 and r.json()["size"] == total * len(block)
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {total} MiB upload"


ENDPOINTS = [
    ("GET", "/api/v1/files", "files:read"),
    ("GET", "/api/v1/files/ep", "files:read"),
    ("GET", "/api/v1/files/ep/content", "files:read"),
    ("HEAD", "/api/v1/files/ep/content", "files:read"),
    ("POST", "/api/v1/files/ep/verify", "files:read"),
    ("PATCH", "/api/v1/files/ep", "files:write"),
    ("DELETE", "/api/v1/files/ep", "files:delete"),
    ("GET", "/api/v1/changes", "feed:read"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
async def test_file_endpoints_take_service_tokens_with_their_scope(
    se: SE, method: str, path: str, scope: str
) -> None:
    await se.put("ep", b"1", retention={"policy": "temporary", "expires_at": "2020-01-01T00:00:00Z"})
    json_body = {"description": "x"} if method == "PATCH" else None

    async def call(headers: dict[str, str]) -> int:
        r = await se.client.request(method, path, headers=headers, json=json_body)
        return r.status_code

    assert await call({}) == 401
    assert await call(se.admin()) == 403  # people go through the ingester and the query module
    others = " ".join(s for s in ("files:read", "files:write", "files:delete", "feed:read") if s != scope)
    assert await call(se.auth(others, "svc-other")) == 403
    assert await call(se.auth(f"{scope} files:superpower", "svc-other")) == 403  # unknown scope
    assert await call(se.auth(scope, "svc-right")) in (200, 204)


async def test_a_body_broken_midway_leaves_nothing(se: SE) -> None:
    class Gone(Exception):
        pass

    async def body() -> AsyncIterator[bytes]:
        yield b"a" * (2 * 1024 * 1024 + 1)
        raise Gone

    headers = {**se.auth(), "X-ArtStore-Attributes": attributes(), "Content-Length": str(8 * 1024 * 1024)}
    # The client's failure surfaces in the SE as an error of the body it reads: an unexpected
    # error, answered 500 inside the middleware stack (shared/errors.py), never committed.
    broken = await se.client.put("/api/v1/files/broken", content=body(), headers=headers)
    assert broken.status_code == 500
    assert [p for p in se.settings.root.rglob("*") if p.is_file()] == []
    assert se.store.wal.open_records() == [] and se.store.capacity.reserved == 0
    assert (await se.client.get("/api/v1/files/broken", headers=se.auth())).status_code == 404


async def test_patch_accepts_the_flat_retention_of_the_record(se: SE) -> None:
    await se.put("flat", b"1")
    r = await se.client.patch(
        "/api/v1/files/flat",
        headers=se.auth(),
        json={"retention_policy": "permanent", "retain_until": "2040-01-01T00:00:00Z"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["retention_policy"] == "permanent" and r.json()["retain_until"] == "2040-01-01T00:00:00Z"
    assert r.json()["expires_at"] is None
    shorter = await se.client.patch(
        "/api/v1/files/flat", headers=se.auth(), json={"retention": {"retain_until": "2030-01-01T00:00:00Z"}}
    )
    assert shorter.status_code == 409 and shorter.json()["code"] == "retention_active"


async def test_index_failure_after_commit_is_finished_by_the_retry(
    se: SE, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = se.store.index_change
    calls = []

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        if len(calls) == 1:
            raise ConnectionError("postgres went away")
        return await real(*args, **kwargs)

    monkeypatch.setattr(se.store, "index_change", failing_once)
    transport = httpx.ASGITransport(app=se.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://se") as client:
        headers = {**se.auth(), "X-ArtStore-Attributes": attributes(original_filename="l.txt")}
        first = await client.put("/api/v1/files/late-index", content=b"committed bytes", headers=headers)
    assert first.status_code == 500
    retry = await se.put("late-index", b"committed bytes")
    assert (
        retry.status_code == 200 and retry.json()["sha256"] == hashlib.sha256(b"committed bytes").hexdigest()
    )
    assert len(list(se.settings.root.rglob("*.attr.json"))) == 1
    assert se.store.wal.open_records() == [] and se.store.unindexed == {}
    assert (await se.changes())["items"][-1]["file_id"] == "late-index"
    # The upload indexed late is audited once, with the event its WAL intent carried.
    async with se.store.sessions() as session:
        events = (await session.scalars(sa.select(outbox_table.c.event))).all()
    uploads = [e for e in events if e["action"] == "file.upload" and e["target"] == "late-index"]
    assert len(uploads) == 1 and uploads[0]["actor"]["username"] == "svc-ingester"
    assert uploads[0]["details"]["sha256"] == hashlib.sha256(b"committed bytes").hexdigest()
    assert uploads[0]["details"]["size"] == len(b"committed bytes")
