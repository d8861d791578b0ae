"""The query module with real storage elements (processes) and uploads through the ingester.

Feed runners pull the SEs' change feeds over HTTP, Redis notifications wake them, and
downloads stream from the SEs. Deadlines are generous: latency belongs to the benchmark.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from shared.tasks import cancel_and_wait
from tests.query_module.conftest import (
    SE,
    Fleet,
    Query,
    QueryFactory,
    bearer,
    drop_database,
    eventually,
    new_database,
    upload,
)
from tests.support.fake_admin import FakeAdmin
from tests.support.servers import Managed
from tests.support.tokens import TestKeys


@asynccontextmanager
async def stack(
    fleet: Fleet,
    query: QueryFactory,
    postgres_server: str,
    *,
    http: bool = False,
    ingester: dict[str, Any] | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[Query, httpx.AsyncClient]]:
    ingester_overrides = {"redis_url": settings["redis_url"]} if "redis_url" in settings else {}
    ingester_overrides.update(ingester or {})
    async with (
        query(storage_elements=fleet.storage_elements(), http=http, **settings) as q,
        fleet.ingester(await new_database(postgres_server), **ingester_overrides) as ingester,
    ):
        yield q, ingester


async def find(qm: Query, token: str, **params: Any) -> list[dict[str, Any]]:
    response = await qm.client.get("/api/v1/search", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def record_of(q: Query, token: str, file_id: str) -> dict[str, Any] | None:
    response = await q.client.get(f"/api/v1/files/{file_id}", headers=bearer(token))
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def searchable(qm: Query, token: str, file_id: str, timeout: float = 20.0, **params: Any) -> None:
    async def found() -> bool:
        return file_id in {i["file_id"] for i in await find(qm, token, **params)}

    await eventually(found, timeout=timeout)


def data_file(se: SE, file_id: str) -> Path:
    (path,) = [p for p in se.root.rglob(f"*{file_id}*") if not p.name.endswith(".attr.json")]
    return path


async def test_upload_is_searchable_and_downloadable(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys, fake_admin: FakeAdmin
) -> None:
    await fleet.start_ses(("edit-1", "edit"), ("rw-1", "rw"))
    alice, bob = keys.user("USER", "alice"), keys.user("USER", "bob")
    data = os.urandom(300_000)
    async with stack(fleet, query, postgres_server) as (q, ingester):
        rec = await upload(
            ingester, alice, data, filename="Годовой отчёт.pdf", tags=["finance"], metadata={"dept": "sales"}
        )
        file_id = rec["file_id"]
        # The poll interval is 30 s: only the SE's Redis notification makes this quick.
        await searchable(q, alice, file_id, timeout=10, q="отчёты")
        assert [i["file_id"] for i in await find(q, alice, **{"meta.dept": "sales", "tag": "finance"})] == [
            file_id
        ]

        response = await q.client.get(f"/api/v1/files/{file_id}/download", headers=bearer(alice))
        assert response.status_code == 200 and response.content == data
        sha = hashlib.sha256(data).hexdigest()
        assert response.headers["etag"] == f'"sha256:{sha}"'
        assert response.headers["content-length"] == str(len(data))
        assert quote("Годовой отчёт.pdf", safe="") in response.headers["content-disposition"]
        head = await q.client.head(f"/api/v1/files/{file_id}/download", headers=bearer(alice))
        assert (
            head.status_code == 200 and head.headers["content-length"] == str(len(data)) and not head.content
        )
        cached = await q.client.get(
            f"/api/v1/files/{file_id}/download", headers={**bearer(alice), "If-None-Match": f'"sha256:{sha}"'}
        )
        assert cached.status_code == 304 and not cached.content

        # USER B can neither find nor download nor link USER A's file.
        assert await find(q, bob, q="отчёты") == []
        for method, path in (("GET", ""), ("GET", "/download"), ("POST", "/download-link")):
            other = await q.client.request(method, f"/api/v1/files/{file_id}{path}", headers=bearer(bob))
            assert other.status_code == 404, path

        metrics = (await q.client.get("/metrics")).text
        assert f'artstore_query_download_bytes_total{{se_id="edit-1"}} {float(len(data))}' in metrics
        assert 'artstore_query_feed_changes_applied_total{se_id="edit-1"}' in metrics
        ready = (await q.client.get("/health/ready")).json()
        assert ready["status"] == "ok" and ready["checks"]["feeds"]["status"] == "ok"
        await q.app.state.outbox.deliver_once()
    downloads = [e for e in fake_admin.audit_events if e["service"] == "query_module"]
    assert [e["action"] for e in downloads] == ["file.download"]  # the 304 and HEAD sent no content
    full = downloads[0]
    assert full["actor"]["username"] == "alice" and full["target"] == file_id
    assert full["details"]["bytes"] == len(data) and full["details"]["verified"] is True


async def test_searchable_without_redis_within_the_polling_interval(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    await fleet.start_ses(("rw-1", "rw"), redis_url=None)
    token = keys.user("USER", "alice")
    async with stack(fleet, query, postgres_server, redis_url=None, feed_poll_interval_seconds=1.0) as (
        q,
        ingester,
    ):
        rec = await upload(
            ingester, token, b"contract text", filename="contract.txt", retention_policy="permanent"
        )
        await searchable(q, token, rec["file_id"], timeout=10, q="contracts")


async def test_range_from_the_middle_of_a_large_file_is_byte_exact(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    await fleet.start_ses(("rw-1", "rw"))
    token = keys.user("USER", "alice")
    data = os.urandom(6 * 1024 * 1024)
    async with stack(fleet, query, postgres_server, http=True) as (q, ingester):
        rec = await upload(ingester, token, data, filename="big.bin", retention_policy="permanent")
        await searchable(q, token, rec["file_id"])
        start, end = 2_500_001, 4_700_000
        headers = {**bearer(token), "Range": f"bytes={start}-{end}"}
        part = await q.client.get(f"/api/v1/files/{rec['file_id']}/download", headers=headers)
        assert part.status_code == 206
        assert part.content == data[start : end + 1]
        assert part.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
        etag = part.headers["etag"]
        still = await q.client.get(
            f"/api/v1/files/{rec['file_id']}/download", headers={**headers, "If-Range": etag}
        )
        assert still.status_code == 206 and still.content == data[start : end + 1]
        changed = await q.client.get(
            f"/api/v1/files/{rec['file_id']}/download", headers={**headers, "If-Range": '"sha256:00"'}
        )
        assert changed.status_code == 200 and changed.content == data
        beyond = await q.client.get(
            f"/api/v1/files/{rec['file_id']}/download", headers={**bearer(token), "Range": "bytes=99999999-"}
        )
        assert beyond.status_code == 416


async def test_a_corrupted_byte_aborts_the_download_and_flags_the_file(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys, fake_admin: FakeAdmin
) -> None:
    (se,) = await fleet.start_ses(("rw-1", "rw"))
    token = keys.user("OPERATOR", "olga")
    data = os.urandom(2 * 1024 * 1024)
    async with stack(fleet, query, postgres_server, http=True) as (q, ingester):
        rec = await upload(ingester, token, data, filename="precious.bin", retention_policy="permanent")
        await searchable(q, token, rec["file_id"])
        path = data_file(se, rec["file_id"])
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))

        received = bytearray()
        failed = False
        try:
            async with q.client.stream(
                "GET", f"/api/v1/files/{rec['file_id']}/download", headers=bearer(token)
            ) as r:
                assert r.status_code == 200
                async for chunk in r.aiter_raw():
                    received += chunk
        except httpx.HTTPError:
            failed = True
        assert failed and len(received) < len(data)  # the connection closed before the body completed

        async def flagged() -> bool:
            record = await record_of(q, token, rec["file_id"])
            return record is not None and record["status"] == "corrupt"

        await eventually(flagged, timeout=20)
        again = await q.client.get(f"/api/v1/files/{rec['file_id']}/download", headers=bearer(token))
        assert again.status_code == 409 and again.json()["code"] == "corrupt"
        await q.app.state.outbox.deliver_once()
    events = [e for e in fake_admin.audit_events if e["service"] == "query_module"]
    assert "file.download.checksum_mismatch" in [e["action"] for e in events]
    refused = [e for e in events if e["action"] == "file.download" and e["outcome"] == "failure"]
    assert refused and refused[-1]["details"]["error"] == "corrupt"


CopyStates = tuple[tuple[str, str], ...]


async def _watch_finalize(
    q: Query, ingester: httpx.AsyncClient, token: str, file_id: str, data: bytes, *, download: bool = True
) -> list[CopyStates]:
    """Finalize ``file_id`` and poll search, metadata (and download) until the saga completed
    and the catalog shows the one rw-1 copy; every poll must find (and download) the file.
    Returns the distinct ``(SE, state)`` sets of its copies, in the order seen."""
    started = await ingester.post(f"/api/v1/files/{file_id}/finalize", json={}, headers=bearer(token))
    assert started.status_code == 202, started.text
    saga = started.json()["saga_id"]
    seen: list[CopyStates] = []
    for _ in range(600):
        assert file_id in {i["file_id"] for i in await find(q, token, q="draft")}, seen
        if download:
            got = await q.client.get(f"/api/v1/files/{file_id}/download", headers=bearer(token))
            assert got.status_code == 200 and got.content == data, seen
        record = await record_of(q, token, file_id)
        assert record is not None, seen
        copies = tuple(sorted((c["storage_element_id"], c["state"]) for c in record["copies"]))
        if not seen or seen[-1] != copies:
            seen.append(copies)
        state = (await ingester.get(f"/api/v1/sagas/{saga}", headers=bearer(token))).json()["state"]
        if state == "completed" and copies == (("rw-1", "committed"),):
            assert record["retention_policy"] == "permanent"
            return seen
        assert state in ("pending", "running", "completed"), state
        await asyncio.sleep(0.05)
    raise AssertionError(f"saga did not finish in the catalog: {seen}")


async def test_a_finalized_file_stays_findable_and_downloadable_through_the_saga(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    await fleet.start_ses(("edit-1", "edit"), ("rw-1", "rw"))
    token = keys.user("USER", "alice")
    data = os.urandom(512 * 1024)
    # Copy and verify each take about 4 s: the pending copy on rw-1 is in the catalog a while.
    slow_copy = {"saga_copy_bytes_per_second": 128 * 1024}
    async with stack(fleet, query, postgres_server, ingester=slow_copy, feed_poll_interval_seconds=1.0) as (
        q,
        ingester,
    ):
        rec = await upload(ingester, token, data, filename="draft.bin")
        await searchable(q, token, rec["file_id"])
        seen = await _watch_finalize(q, ingester, token, rec["file_id"], data)
    # Two copies (the pending one, then maybe both committed), then one; never none.
    holders = [se_ids for se_ids, _ in itertools.groupby(tuple(se for se, _ in c) for c in seen)]
    assert holders == [("edit-1",), ("edit-1", "rw-1"), ("rw-1",)], seen
    assert seen[0] == (("edit-1", "committed"),)
    assert seen[1] == (("edit-1", "committed"), ("rw-1", "pending"))
    assert seen[-1] == (("rw-1", "committed"),)


async def _hold_back(q: Query, *se_ids: str) -> None:
    """Stop these SEs' feed runners: from here on they read nothing by themselves."""
    await cancel_and_wait([q.app.state.feeds.tasks[se_id] for se_id in se_ids])


async def test_a_relocated_delete_waits_for_the_targets_copy_when_its_feed_runner_lags(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    await fleet.start_ses(("edit-1", "edit"), ("rw-1", "rw"))
    token = keys.user("USER", "alice")
    data = os.urandom(64 * 1024)
    async with stack(fleet, query, postgres_server) as (q, ingester):  # polls every 30 s
        rec = await upload(ingester, token, data, filename="draft.bin")
        await searchable(q, token, rec["file_id"])
        await _hold_back(q, "rw-1")
        passes = q.app.state.feeds.runners["rw-1"].passes
        # Without downloads: a download whose copies are all gone reads every feed itself.
        seen = await _watch_finalize(q, ingester, token, rec["file_id"], data, download=False)
        # edit-1's runner read rw-1's feed itself before applying the relocated delete.
        assert q.app.state.feeds.runners["rw-1"].passes == passes
        got = await q.client.get(f"/api/v1/files/{rec['file_id']}/download", headers=bearer(token))
        assert got.status_code == 200 and got.content == data
    # rw-1's pending copy never reached the catalog (its runner read nothing); its committed
    # copy came just before the delete (maybe seen together with edit-1's), never after it.
    assert seen[0] == (("edit-1", "committed"),) and seen[-1] == (("rw-1", "committed"),)
    assert seen[1:-1] in ([], [(("edit-1", "committed"), ("rw-1", "committed"))]), seen


async def test_a_download_after_the_copy_moved_reads_the_feeds_when_the_catalog_lags(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    edit, rw = await fleet.start_ses(("edit-1", "edit"), ("rw-1", "rw"))
    token = keys.user("ADMIN", "root")
    data = os.urandom(100_000)
    file_id = "4f2d8c1b-6a3e-4b7d-9c05-e1f2a3b4c5d6"
    await _put_copy(fleet, edit, file_id, data, retention="temporary")
    async with query(storage_elements=fleet.storage_elements()) as q:
        await searchable(q, token, file_id)
        await _hold_back(q, "edit-1", "rw-1")
        # A saga's work, done behind the catalog's back: the copy moves to rw-1.
        await _put_copy(fleet, rw, file_id, data)
        mover = keys.service("svc-ingester", "files:relocate files:delete")
        async with httpx.AsyncClient(base_url=edit.url, timeout=30) as client:
            moved = await client.delete(
                f"/api/v1/files/{file_id}",
                params={"reason": "relocated", "target": "rw-1", "sha256": hashlib.sha256(data).hexdigest()},
                headers=bearer(mover),
            )
        assert moved.status_code in (200, 204), moved.text
        record = await record_of(q, token, file_id)
        assert record is not None and [c["storage_element_id"] for c in record["copies"]] == ["edit-1"]

        response = await q.client.get(f"/api/v1/files/{file_id}/download", headers=bearer(token))
        assert response.status_code == 200 and response.content == data
        record = await record_of(q, token, file_id)
        assert record is not None and record["copies"] == [
            {"storage_element_id": "rw-1", "mode": "rw", "state": "committed"}
        ]


async def _put_copy(fleet: Fleet, se: SE, file_id: str, data: bytes, retention: str = "permanent") -> None:
    import base64
    import json

    attrs = {"original_filename": "twin.bin", "retention": {"policy": retention}}
    token = fleet.keys.service("svc-ingester", "files:read files:write files:write-on-behalf")
    async with httpx.AsyncClient(base_url=se.url, timeout=30) as client:
        response = await client.put(
            f"/api/v1/files/{file_id}",
            content=data,
            headers={
                **bearer(token),
                "Content-Type": "application/octet-stream",
                "X-ArtStore-Attributes": base64.urlsafe_b64encode(json.dumps(attrs).encode())
                .decode()
                .rstrip("="),
            },
        )
    assert response.status_code in (200, 201), response.text


async def test_downloads_fall_back_to_another_copy_and_503_when_none_answers(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    edit, rw = await fleet.start_ses(("edit-1", "edit"), ("rw-1", "rw"))
    token = keys.user("ADMIN", "root")
    data = os.urandom(100_000)
    file_id = "7d0c6a5e-4f7b-4c55-9a43-2f3e1f0c9b11"
    await _put_copy(fleet, edit, file_id, data)
    await _put_copy(fleet, rw, file_id, data)
    async with stack(fleet, query, postgres_server) as (q, _):

        async def two_copies() -> bool:
            record = await record_of(q, token, file_id)
            return record is not None and len(record["copies"]) == 2

        await eventually(two_copies)
        record = await record_of(q, token, file_id)
        assert record is not None and record["storage_element_id"] == "rw-1"  # rw preferred over edit
        rw.process.kill()
        for _ in range(4):  # also once the breaker has opened for rw-1
            response = await q.client.get(f"/api/v1/files/{file_id}/download", headers=bearer(token))
            assert response.status_code == 200 and response.content == data
        assert q.app.state.storage.breaker.is_open("rw-1")
        assert [i["file_id"] for i in await find(q, token, q="twin")] == [file_id]
        edit.process.kill()
        response = await q.client.get(f"/api/v1/files/{file_id}/download", headers=bearer(token))
        assert response.status_code == 503 and response.json()["code"] == "storage_unavailable"
        assert int(response.headers["retry-after"]) > 0


async def _all(q: Query, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "sort": "filename", "facets": "true"}
        if cursor:
            params["cursor"] = cursor
        response = await q.client.get("/api/v1/search", params=params, headers=bearer(token))
        body = response.json()
        items += [{k: v for k, v in i.items() if k != "score"} for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return items


async def _cursors(q: Query, token: str) -> dict[str, Any]:
    response = await q.client.get("/api/v1/catalog/feeds", headers=bearer(token))
    return {c["se_id"]: c for c in response.json()["items"]}


async def test_reindexing_an_se_leaves_the_catalog_identical(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    (se,) = await fleet.start_ses(("rw-1", "rw"))
    token = keys.user("ADMIN", "root")
    async with stack(fleet, query, postgres_server, feed_poll_interval_seconds=1.0) as (q, ingester):
        for i in range(7):
            rec = await upload(
                ingester,
                token,
                f"body {i}".encode(),
                filename=f"file-{i}.txt",
                tags=[f"t{i % 3}"],
                retention_policy="permanent",
            )
        await searchable(q, token, rec["file_id"])
        before = await _all(q, token)
        epoch = (await _cursors(q, token))["rw-1"]["feed_epoch"]
        async with fleet.se_client(se) as client:
            job = (await client.post("/api/v1/maintenance/reindex")).json()["job_id"]

            async def done() -> bool:
                state = (await client.get(f"/api/v1/maintenance/jobs/{job}")).json()["state"]
                assert state != "failed"
                return state == "done"

            await eventually(done, timeout=30)

        async def new_pass_swept() -> bool:
            cursor = (await _cursors(q, token))["rw-1"]
            return cursor["feed_epoch"] != epoch and not cursor["sweep_pending"]

        await eventually(new_pass_swept, timeout=20)
        assert await _all(q, token) == before


async def test_dropping_the_catalog_and_rebuilding_from_the_feeds_gives_identical_results(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    await fleet.start_ses(("edit-1", "edit"), ("rw-1", "rw"))
    token = keys.user("ADMIN", "root")
    catalog = await new_database(postgres_server)
    async with stack(fleet, query, postgres_server, database_url=catalog, feed_poll_interval_seconds=1.0) as (
        q,
        ingester,
    ):
        for i in range(6):
            rec = await upload(
                ingester,
                token,
                f"doc {i}".encode(),
                filename=f"doc-{i}.txt",
                description=f"number {i}",
                retention_policy="permanent" if i % 2 else "temporary",
            )
        await searchable(q, token, rec["file_id"])
        before = await _all(q, token)
        stats_before = (await q.client.get("/api/v1/stats", headers=bearer(token))).json()
    await drop_database(catalog)
    async with query(storage_elements=fleet.storage_elements(), database_url=catalog) as q:
        await eventually(lambda: _same(q, token, before), timeout=20)
        stats_after = (await q.client.get("/api/v1/stats", headers=bearer(token))).json()
        assert stats_after == stats_before
        assert stats_after["totals"]["files"] == 6
        assert {s["storage_element_id"] for s in stats_after["storage_elements"]} == {"edit-1", "rw-1"}
        assert (
            len(stats_after["latest_uploads"]) == 6
            and sum(d["files"] for d in stats_after["uploads_per_day"]) == 6
        )
        user = await q.client.get("/api/v1/stats", headers=bearer(keys.user("USER", "alice")))
        assert user.status_code == 403
        # A full rebuild on demand (cursors reset, every SE re-read and swept) changes nothing.
        operator = keys.user("OPERATOR", "olga")
        assert (await q.client.post("/api/v1/catalog/rebuild", headers=bearer(operator))).status_code == 403
        rebuild = await q.client.post("/api/v1/catalog/rebuild", headers=bearer(token))
        assert rebuild.status_code == 202 and rebuild.json() == {"reset": 2}

        async def rebuilt() -> bool:
            cursors = (await _cursors(q, token)).values()
            return all(c["feed_epoch"] and not c["sweep_pending"] and c["last_seq"] > 0 for c in cursors)

        await eventually(rebuilt, timeout=20)
        assert await _all(q, token) == before


async def test_stats_break_files_and_bytes_down_by_mode_and_retention_policy(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    _, _, rw2 = await fleet.start_ses(("edit-1", "edit"), ("rw-1", "rw"), ("rw-2", "rw"))
    token = keys.user("OPERATOR", "olga")
    temporary, permanent, on_rw2 = [1_000, 2_500], [30_000, 45_000], 7_000
    async with stack(fleet, query, postgres_server, feed_poll_interval_seconds=1.0) as (q, ingester):
        uploaded: list[str] = []  # oldest first
        for i, size in enumerate(temporary):
            rec = await upload(ingester, token, os.urandom(size), filename=f"draft-{i}.bin")
            assert rec["storage_element_id"] == "edit-1"
            uploaded.append(rec["file_id"])
        for i, size in enumerate(permanent):
            rec = await upload(
                ingester, token, os.urandom(size), filename=f"deed-{i}.bin", retention_policy="permanent"
            )
            assert rec["storage_element_id"] == "rw-1"
            uploaded.append(rec["file_id"])
        await _put_copy(fleet, rw2, "3c1f7a9e-2b4d-4e6f-8a0b-1c2d3e4f5a6b", os.urandom(on_rw2))
        uploaded.append("3c1f7a9e-2b4d-4e6f-8a0b-1c2d3e4f5a6b")

        async def stats(ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
            response = await q.client.get("/api/v1/stats", headers=bearer(token))
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body if ready(body) else None

        body = await eventually(lambda: stats(lambda b: b["totals"]["files"] == 5), timeout=20)
        assert body["totals"] == {"files": 5, "bytes": sum(temporary) + sum(permanent) + on_rw2}
        assert body["storage_elements"] == [
            {"storage_element_id": "edit-1", "mode": "edit", "files": 2, "bytes": sum(temporary)},
            {"storage_element_id": "rw-1", "mode": "rw", "files": 2, "bytes": sum(permanent)},
            {"storage_element_id": "rw-2", "mode": "rw", "files": 1, "bytes": on_rw2},
        ]
        assert [r["file_id"] for r in body["latest_uploads"]] == uploaded[::-1]
        today = body["uploads_per_day"][-1]
        assert len(body["uploads_per_day"]) == 30 and today == {
            "date": datetime.now(UTC).date().isoformat(),
            "files": 5,
            "bytes": body["totals"]["bytes"],
        }
        assert all(d["files"] == 0 for d in body["uploads_per_day"][:-1])
        assert body["modes"] == [
            {"mode": "edit", "files": 2, "bytes": sum(temporary)},
            {"mode": "rw", "files": 3, "bytes": sum(permanent) + on_rw2},
        ]
        assert body["retention_policies"] == [
            {"retention_policy": "permanent", "files": 3, "bytes": sum(permanent) + on_rw2},
            {"retention_policy": "temporary", "files": 2, "bytes": sum(temporary)},
        ]

        # A mode change on one SE moves its copies to the new mode, not their retention.
        async with fleet.se_client(rw2) as client:
            assert (await client.post("/api/v1/mode", json={"mode": "ro"})).status_code == 200
        body = await eventually(
            lambda: stats(lambda b: any(m["mode"] == "ro" for m in b["modes"])), timeout=20
        )
        assert body["storage_elements"][2] == {
            "storage_element_id": "rw-2",
            "mode": "ro",
            "files": 1,
            "bytes": on_rw2,
        }
        assert body["modes"] == [
            {"mode": "edit", "files": 2, "bytes": sum(temporary)},
            {"mode": "ro", "files": 1, "bytes": on_rw2},
            {"mode": "rw", "files": 2, "bytes": sum(permanent)},
        ]
        assert body["retention_policies"] == [
            {"retention_policy": "permanent", "files": 3, "bytes": sum(permanent) + on_rw2},
            {"retention_policy": "temporary", "files": 2, "bytes": sum(temporary)},
        ]
        refused = await q.client.get("/api/v1/stats", headers=bearer(keys.user("USER", "alice")))
        assert refused.status_code == 403


async def _same(q: Query, token: str, expected: list[dict[str, Any]]) -> bool:
    return await _all(q, token) == expected


async def test_signed_links_work_without_a_token_and_fail_when_expired_or_altered(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    await fleet.start_ses(("rw-1", "rw"))
    token = keys.user("USER", "alice")
    data = b"signed link payload " * 1000
    async with stack(fleet, query, postgres_server, http=True, link_ttl_seconds=4) as (q, ingester):
        rec = await upload(ingester, token, data, filename="link.txt", retention_policy="permanent")
        other = await upload(ingester, token, b"other", filename="other.txt", retention_policy="permanent")
        await searchable(q, token, other["file_id"])
        await searchable(q, token, rec["file_id"])
        made = await q.client.post(f"/api/v1/files/{rec['file_id']}/download-link", headers=bearer(token))
        assert made.status_code == 200, made.text
        url = made.json()["url"]
        assert url.startswith(q.url or "") and made.json()["expires_at"]
        async with httpx.AsyncClient(timeout=30) as anonymous:  # no Authorization header at all
            ok = await anonymous.get(url)
            assert ok.status_code == 200 and ok.content == data
            token_part = url.split("link=")[1]
            body, mac = token_part.split(".")
            tampered = url.replace(token_part, f"{body}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}")
            assert (await anonymous.get(tampered)).status_code == 403
            other_file = url.replace(rec["file_id"], other["file_id"])
            assert (await anonymous.get(other_file)).status_code == 403
            assert (await anonymous.get(url.split("?")[0])).status_code == 401
            await asyncio.sleep(5.1)
            expired = await anonymous.get(url)
            assert expired.status_code == 403 and "expired" in expired.json()["detail"]


async def test_with_redis_stopped_search_and_download_keep_working(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys, private_redis: Managed
) -> None:
    await fleet.start_ses(("rw-1", "rw"), redis_url=private_redis.url)
    token = keys.user("USER", "alice")
    async with stack(
        fleet, query, postgres_server, redis_url=private_redis.url, feed_poll_interval_seconds=1.0
    ) as (q, ingester):
        first = await upload(
            ingester, token, b"before outage", filename="before.txt", retention_policy="permanent"
        )
        await searchable(q, token, first["file_id"], q="before")
        private_redis.stop()
        assert [i["file_id"] for i in await find(q, token, q="before")] == [first["file_id"]]
        response = await q.client.get(f"/api/v1/files/{first['file_id']}/download", headers=bearer(token))
        assert response.status_code == 200 and response.content == b"before outage"
        second = await upload(
            ingester, token, b"during outage", filename="during.txt", retention_policy="permanent"
        )
        await searchable(q, token, second["file_id"], timeout=15, q="during")
        response = await q.client.get(f"/api/v1/files/{second['file_id']}/download", headers=bearer(token))
        assert response.status_code == 200 and response.content == b"during outage"
        ready = await q.client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"


async def test_a_new_se_gets_a_runner_without_restart_and_mode_changes_archive_copies(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    from shared.discovery import StorageElementInfo

    (first,) = await fleet.start_ses(("rw-1", "rw"))
    token = keys.user("OPERATOR", "olga")
    async with (
        query(storage_elements=fleet.storage_elements()) as q,
        query(storage_elements=fleet.storage_elements()) as replica,  # a second replica, same catalog
    ):
        (second,) = await fleet.start_ses(("rw-2", "rw"))
        data = b"late arrival"
        await _put_copy(fleet, second, "0b7e3c1a-9d55-4a6e-8f3b-5c2d1e0f9a77", data)
        for app in (q.app, replica.app):
            app.state.discovery.replace(StorageElementInfo.from_dict(se) for se in fleet.storage_elements())
        await searchable(q, token, "0b7e3c1a-9d55-4a6e-8f3b-5c2d1e0f9a77", q="twin")
        assert set(q.app.state.feeds.runners) == {"rw-1", "rw-2"}

        await _put_copy(fleet, first, "5e9f1b2c-3d4a-4b6c-8e7f-9a0b1c2d3e4f", b"to be archived")
        await searchable(q, token, "5e9f1b2c-3d4a-4b6c-8e7f-9a0b1c2d3e4f")
        async with fleet.se_client(first) as client:
            for mode in ("ro", "ar"):
                response = await client.post("/api/v1/mode", json={"mode": mode})
                assert response.status_code == 200, response.text

        async def archived() -> bool:
            record = await record_of(q, token, "5e9f1b2c-3d4a-4b6c-8e7f-9a0b1c2d3e4f")
            return record is not None and record["status"] == "archived"

        await eventually(archived, timeout=20)
        record = await record_of(replica, token, "5e9f1b2c-3d4a-4b6c-8e7f-9a0b1c2d3e4f")
        assert record is not None and record["copies"] == [
            {"storage_element_id": "rw-1", "mode": "ar", "state": "archived"}
        ]
        response = await q.client.get(
            "/api/v1/files/5e9f1b2c-3d4a-4b6c-8e7f-9a0b1c2d3e4f/download", headers=bearer(token)
        )
        assert response.status_code == 409 and response.json()["code"] == "archived"
        # The file on the other SE is untouched and downloadable from either replica.
        for app in (q, replica):
            got = await app.client.get(
                "/api/v1/files/0b7e3c1a-9d55-4a6e-8f3b-5c2d1e0f9a77/download", headers=bearer(token)
            )
            assert got.status_code == 200 and got.content == data


async def test_a_file_deleted_on_the_se_before_the_catalog_knows_is_404(
    fleet: Fleet, query: QueryFactory, keys: TestKeys
) -> None:
    (edit,) = await fleet.start_ses(("edit-1", "edit"), redis_url=None)
    file_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    await _put_copy(fleet, edit, file_id, b"short-lived", retention="temporary")
    token = keys.user("ADMIN", "root")
    async with query(storage_elements=fleet.storage_elements(), redis_url=None) as q:
        await searchable(q, token, file_id)  # the runner's first pull at start
        deleter = keys.service("svc-ingester", "files:delete")
        async with httpx.AsyncClient(base_url=edit.url, timeout=30) as client:
            deleted = await client.delete(f"/api/v1/files/{file_id}", headers=bearer(deleter))
        assert deleted.status_code in (200, 202, 204), deleted.text
        assert await record_of(q, token, file_id) is not None  # no notification, next poll in 30 s
        response = await q.client.get(f"/api/v1/files/{file_id}/download", headers=bearer(token))
        assert response.status_code == 404


async def test_a_metadata_update_through_the_ingester_reaches_another_replicas_cache(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    await fleet.start_ses(("rw-1", "rw"))
    token = keys.user("USER", "alice")
    slow = {"cache_ttl_seconds": 600.0, "feed_poll_interval_seconds": 60.0}
    async with (
        stack(fleet, query, postgres_server, **slow) as (a, ingester),
        query(storage_elements=fleet.storage_elements(), **slow) as b,
    ):
        rec = await upload(
            ingester,
            token,
            b"v1",
            filename="notes.txt",
            description="first draft",
            retention_policy="permanent",
        )
        await searchable(a, token, rec["file_id"])
        await eventually(lambda: record_of(b, token, rec["file_id"]))
        assert (await record_of(b, token, rec["file_id"]) or {})[
            "description"
        ] == "first draft"  # cached in B
        patched = await ingester.patch(
            f"/api/v1/files/{rec['file_id']}", json={"description": "final text"}, headers=bearer(token)
        )
        assert patched.status_code == 200, patched.text

        async def updated() -> bool:
            record = await record_of(b, token, rec["file_id"])
            return record is not None and record["description"] == "final text"

        # Within seconds, well before any TTL: the runner's invalidation reached replica B.
        await eventually(updated, timeout=10)
        assert [i["file_id"] for i in await find(b, token, q="final")] == [rec["file_id"]]


async def test_keyset_pages_over_uploads_return_each_file_once_while_uploads_continue(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys
) -> None:
    await fleet.start_ses(("rw-1", "rw"))
    token = keys.user("USER", "alice")
    async with stack(fleet, query, postgres_server) as (q, ingester):
        first = [
            (
                await upload(
                    ingester,
                    token,
                    b"x" * (i + 1),
                    filename=f"page-{i:02d}.txt",
                    retention_policy="permanent",
                )
            )["file_id"]
            for i in range(10)
        ]
        await searchable(q, token, first[-1], q="page")
        seen: list[str] = []
        cursor = None
        n = 0
        while True:
            params: dict[str, Any] = {"q": "page", "sort": "size", "order": "desc", "limit": 3}
            if cursor:
                params["cursor"] = cursor
            body = (await q.client.get("/api/v1/search", params=params, headers=bearer(token))).json()
            seen += [i["file_id"] for i in body["items"]]
            for size in (1, 50):  # one sorts after the cursor, one before it
                n += 1
                late = await upload(
                    ingester, token, b"y" * size, filename=f"page-late-{n}.txt", retention_policy="permanent"
                )
            await searchable(q, token, late["file_id"], q="page")
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) and set(first) <= set(seen)


async def test_a_download_the_client_drops_is_audited_with_the_bytes_sent(
    fleet: Fleet, query: QueryFactory, postgres_server: str, keys: TestKeys, fake_admin: FakeAdmin
) -> None:
    await fleet.start_ses(("rw-1", "rw"))
    token = keys.user("USER", "alice")
    data = os.urandom(32 * 1024 * 1024)
    received = 3 * 1024 * 1024
    async with stack(fleet, query, postgres_server, http=True) as (q, ingester):
        rec = await upload(ingester, token, data, filename="dropped.bin", retention_policy="permanent")
        await searchable(q, token, rec["file_id"])
        url = httpx.URL(q.url or "")
        reader, writer = await asyncio.open_connection(url.host, url.port)
        writer.write(
            f"GET /api/v1/files/{rec['file_id']}/download HTTP/1.1\r\nHost: {url.host}\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        await writer.drain()
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        assert await reader.readexactly(received) == data[:received]
        writer.close()  # the client goes away mid-body
        await writer.wait_closed()

        async def audited() -> list[dict[str, Any]]:
            await q.app.state.outbox.deliver_once()
            return [e for e in fake_admin.audit_events if e["action"] == "file.download"]

        (event,) = await eventually(audited, timeout=30)
        # Nothing was refused for good, and the parked counter is on the query module's /metrics.
        metrics = (await q.client.get("/metrics")).text
        assert "artstore_audit_events_parked_total 0.0" in metrics, metrics
    assert event["service"] == "query_module" and event["target"] == rec["file_id"]
    assert event["actor"]["username"] == "alice" and event["outcome"] != "success"
    # What was handed to the connection: at least what arrived but for the chunk in flight.
    chunk = q.app.state.settings.download_chunk_bytes
    assert received - chunk <= event["details"]["bytes"] < len(data), event
