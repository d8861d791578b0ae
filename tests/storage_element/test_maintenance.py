"""Maintenance: reindex from sidecars, consistency, scrub with quarantine, capacity, retention."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy import make_url

from shared.discovery import SE_CHANGES_CHANNEL
from shared.outbox import outbox_table
from storage_element.index import repository as repo
from storage_element.index.tables import files, generations
from storage_element.jobs import retention
from storage_element.storage.backends.memory import MemoryBackend
from storage_element.storage.sidecar import Sidecar
from tests.storage_element.conftest import SE, attributes


async def _job(se: SE, kind: str, **params: Any) -> dict[str, Any]:
    r = await se.client.post(f"/api/v1/maintenance/{kind}", params=params, headers=se.admin())
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    for _ in range(400):
        job = (await se.client.get(f"/api/v1/maintenance/jobs/{job_id}", headers=se.admin())).json()
        if job["state"] != "running":
            assert job["state"] == "done", job
            report: dict[str, Any] = job["report"]
            return report
        await asyncio.sleep(0.05)
    raise AssertionError("job did not finish")


async def _listing(se: SE, q: str | None = None) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if q:
            params["q"] = q
        if cursor:
            params["cursor"] = cursor
        page = (await se.client.get("/api/v1/files", params=params, headers=se.auth())).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def _populate(se: SE) -> None:
    await se.put(
        "r1", b"alpha", original_filename="contract.pdf", description="Договор аренды", tags=["legal"]
    )
    await se.put("r2", b"beta", original_filename="photo.jpg", metadata={"camera": "leica", "iso": 400})
    await se.put("r3", b"gamma", original_filename="Отчёт.docx", description="annual reports")
    await se.put("r4", b"", original_filename="empty")
    await se.client.patch("/api/v1/files/r2", json={"tags": ["holiday"]}, headers=se.auth())


QUERIES = ["договоры", "leica", "report", "holiday", "contract", "отчёт", "400"]


async def test_drop_the_index_database_then_reindex(
    start_se: Any, se_settings: Any, database_url: str
) -> None:
    settings = se_settings()
    async with start_se(settings) as se:
        await _populate(se)
        listing = await _listing(se)
        searches = {q: await _listing(se, q) for q in QUERIES}
        epoch = (await se.changes())["feed_epoch"]
    assert all(searches.values()), searches
    url = make_url(database_url)
    admin = await asyncpg.connect(
        url.set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    await admin.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{url.database}"')
    await admin.close()
    async with start_se(settings) as se:
        report = await _job(se, "reindex")
        assert report["files"] == 4
        assert await _listing(se) == listing
        assert {q: await _listing(se, q) for q in QUERIES} == searches
        feed = await se.changes()
        assert feed["feed_epoch"] not in (epoch, None) and feed["feed_epoch"] == report["feed_epoch"]
        assert feed["items"][0]["op"] == "mode" and {i["file_id"] for i in feed["items"][1:]} == {
            "r1",
            "r2",
            "r3",
            "r4",
        }


async def test_reindex_keeps_the_outbox_and_serves_reads(se: SE) -> None:
    await _populate(se)
    async with se.store.sessions() as session:
        outbox = await session.scalar(sa.select(sa.func.count()).select_from(outbox_table))
    epoch = (await se.changes())["feed_epoch"]
    job = await se.client.post("/api/v1/maintenance/reindex", headers=se.admin())
    assert (await se.client.get("/api/v1/files/r1", headers=se.auth())).status_code == 200
    while (
        await se.client.get(f"/api/v1/maintenance/jobs/{job.json()['job_id']}", headers=se.admin())
    ).json()["state"] == "running":
        assert len(await _listing(se)) == 4
        await asyncio.sleep(0.02)
    async with se.store.sessions() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(outbox_table)) == outbox
    assert (await se.changes())["feed_epoch"] != epoch
    assert (await se.client.get("/api/v1/info", headers=se.admin())).json()["file_count"] == 4


async def test_an_index_write_waiting_for_a_generation_swap_lands_in_the_new_one(se: SE) -> None:
    """A writer that waited for the old generation's row lock while a reindex swapped
    generations found no active generation (a 500 for a change already committed)."""
    assert (await se.put("w1", b"one")).status_code == 201
    sidecar = await se.store.find("w1")
    assert sidecar is not None
    async with se.store.sessions() as swap:  # the reindex's swap transaction, held open
        old = await repo.active(swap, lock=True)
        assert old is not None
        new = await repo.create_generation(swap, active_now=False)
        for generation, active in ((old.generation, False), (new.generation, True)):
            await swap.execute(
                sa.update(generations).where(generations.c.generation == generation).values(active=active)
            )
        await repo.upsert_file(swap, new.generation, sidecar)
        writer = asyncio.create_task(se.store.index_change("upsert", "w1", sidecar))
        await asyncio.sleep(0.5)
        assert not writer.done()  # waiting for the old generation's row lock
        await swap.commit()
    assert await asyncio.wait_for(writer, 30) == (1, new.feed_epoch)
    assert [i["file_id"] for i in (await se.changes())["items"]] == ["w1"]


async def test_consistency_reports_differences(se: SE) -> None:
    await _populate(se)
    sidecar_path = next(se.settings.root.rglob("photo_r2.jpg.attr.json"))
    doc = json.loads(sidecar_path.read_text())
    sidecar_path.unlink()
    ghost = dict(doc, file_id="ghost", path=doc["path"].replace("r2", "ghost"))
    (sidecar_path.parent / "photo_ghost.jpg.attr.json").write_text(json.dumps(ghost))
    (sidecar_path.parent / "photo_ghost.jpg").write_bytes(b"beta")
    r1 = next(se.settings.root.rglob("contract_r1.pdf.attr.json"))
    r1.write_text(json.dumps(dict(json.loads(r1.read_text()), description="edited by hand", future_field=1)))
    report = await _job(se, "consistency")
    assert report["missing_in_index"] == ["ghost"]
    assert report["orphaned_in_index"] == ["r2"]
    assert report["differing"] == ["r1"]
    assert report["data_without_sidecar"] == [doc["path"]]
    direct = (await se.client.get("/api/v1/maintenance/consistency", headers=se.admin())).json()
    assert direct["differing"] == ["r1"]


async def test_scrub_finds_and_quarantines_a_flipped_byte(se: SE) -> None:
    await se.put("good", os.urandom(300_000))
    await se.put("bad", os.urandom(300_000))
    path = next(se.settings.root.rglob("bad_bad.txt"))
    raw = bytearray(path.read_bytes())
    raw[123_456] ^= 0x40
    path.write_bytes(bytes(raw))
    report = await _job(se, "scrub", mib_per_second=20)
    assert report["checked"] == 2 and [c["file_id"] for c in report["corrupt"]] == ["bad"]
    assert (
        not path.exists() and (se.settings.root / ".quarantine" / path.relative_to(se.settings.root)).exists()
    )
    assert (await se.client.get("/api/v1/files/bad/content", headers=se.auth())).json()["code"] == "corrupt"
    assert (await se.client.get("/api/v1/files/good/content", headers=se.auth())).status_code == 200
    last = (await se.changes())["items"][-1]
    assert last["file_id"] == "bad" and last["record"]["copies"][0]["state"] == "corrupt"
    async with se.store.sessions() as session:
        verified = dict((await session.execute(sa.select(files.c.file_id, files.c.last_verified_at))).all())
    assert verified["good"] is not None and verified["bad"] is None
    sidecar = Sidecar.load(next(se.settings.root.rglob("bad_bad.txt.attr.json")).read_bytes())
    assert sidecar.copy_state == "corrupt" and sidecar.quarantine is not None
    again = await _job(se, "scrub")
    assert again["checked"] == 1 and again["corrupt"] == []


async def test_scrub_is_throttled(se: SE) -> None:
    await se.put("t", os.urandom(1024 * 1024))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _job(se, "scrub", mib_per_second=4)
    assert loop.time() - started >= 0.2


async def test_full_quota_gives_507_before_the_body_with_nothing_half_written(start_se: Any) -> None:
    async with start_se(quota_bytes=1000) as se:
        assert (await se.put("fits", b"x" * 600)).status_code == 201
        consumed = []

        async def body() -> Any:
            consumed.append(1)
            yield b"y" * 600

        headers = {**se.auth(), "Content-Length": "600", "X-ArtStore-Attributes": attributes()}
        r = await se.client.put("/api/v1/files/too-much", content=body(), headers=headers)
        assert r.status_code == 507 and r.json()["code"] == "insufficient_storage"
        assert consumed == []  # decided before a byte of the body was read
        chunked = {**se.auth(), "X-ArtStore-Attributes": attributes()}
        assert (
            await se.client.put("/api/v1/files/chunked", content=body(), headers=chunked)
        ).status_code == 507
        files_on_disk = [p.name for p in se.settings.root.rglob("*") if p.is_file()]
        assert sorted(files_on_disk) == ["fits_fits.txt", "fits_fits.txt.attr.json"]
        assert se.store.wal.open_records() == [] and se.store.capacity.reserved == 0
        info = (await se.client.get("/api/v1/info", headers=se.admin())).json()
        assert info["capacity"]["total"] == 1000 and info["capacity"]["used"] == 600
        assert info["capacity"]["free"] == 400 and info["capacity"]["reserved"] == 0
        assert (await se.put("still-fits", b"z" * 400)).status_code == 201
        info = (await se.client.get("/api/v1/info", headers=se.admin())).json()
        assert info["capacity"]["state"] == "critical"


async def test_info_shape(se: SE) -> None:
    user = {"Authorization": f"Bearer {se.keys.user('USER', 'ulla')}"}
    info = (await se.client.get("/api/v1/info", headers=user)).json()
    assert set(info) >= {
        "id",
        "name",
        "mode",
        "allowed_operations",
        "backend",
        "capacity",
        "file_count",
        "priority",
        "version",
        "feed_epoch",
        "last_seq",
    }
    assert set(info["capacity"]) >= {
        "total",
        "used",
        "free",
        "reserved",
        "state",
        "warning_ratio",
        "critical_ratio",
    }
    assert info["id"] == "se-test-1" and info["backend"] == "local" and info["mode"] == "rw"
    assert (await se.client.get("/api/v1/info")).status_code == 401


async def test_expired_temporary_files_disappear_and_feed_deletes(start_se: Any) -> None:
    async with start_se(initial_mode="edit", retention_interval_seconds=0.1) as se:
        past = {"retention": {"policy": "temporary", "expires_at": "2020-01-01T00:00:00Z"}}
        await se.put("expired", b"old", **past)
        await se.put("held", b"old", retention={**past["retention"], "legal_hold": True})
        await se.put("fresh", b"new")
        for _ in range(100):
            if (await se.client.get("/api/v1/files/expired", headers=se.auth())).status_code == 404:
                break
            await asyncio.sleep(0.05)
        assert (await se.client.get("/api/v1/files/expired", headers=se.auth())).status_code == 404
        assert (await se.client.get("/api/v1/files/fresh", headers=se.auth())).status_code == 200
        assert (await se.client.get("/api/v1/files/held", headers=se.auth())).status_code == 200
        assert not list(se.settings.root.rglob("expired_*"))
        feed = await se.changes()
        assert [i["file_id"] for i in feed["items"] if i["op"] == "delete"] == ["expired"]
        async with se.store.sessions() as session:
            actions = [e["action"] for e in (await session.scalars(sa.select(outbox_table.c.event))).all()]
        assert "file.expire" in actions


async def test_retention_runs_once_at_a_time(start_se: Any) -> None:
    async with start_se(initial_mode="edit") as se:
        await se.put(
            "expired", b"old", retention={"policy": "temporary", "expires_at": "2020-01-01T00:00:00Z"}
        )
        async with se.store.sessions() as other:
            await other.scalar(sa.select(sa.func.pg_advisory_lock(retention.RETENTION_LOCK)))
            assert (await retention.expire_once(se.store))["deleted"] == []
            await other.scalar(sa.select(sa.func.pg_advisory_unlock(retention.RETENTION_LOCK)))
        assert (await retention.expire_once(se.store))["deleted"] == ["expired"]


async def test_rw_se_does_not_expire(start_se: Any) -> None:
    async with start_se(initial_mode="rw") as se:
        await se.put(
            "expired", b"old", retention={"policy": "temporary", "expires_at": "2020-01-01T00:00:00Z"}
        )
        assert (await retention.expire_once(se.store))["deleted"] == []


async def test_change_notification_on_redis(se: SE, redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(SE_CHANGES_CHANNEL)
    await pubsub.get_message(timeout=1)
    await se.put("n", b"notify")
    message = None
    for _ in range(50):
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message:
            break
    assert message is not None
    body = json.loads(message["data"])
    feed = await se.changes()
    assert body == {
        "se_id": "se-test-1",
        "seq": feed["last_seq"],
        "op": "upsert",
        "feed_epoch": feed["feed_epoch"],
    }
    await pubsub.aclose()
    await redis.aclose()


async def test_redis_down_never_fails_an_upload(start_se: Any, private_redis: Any) -> None:
    async with start_se(redis_url=private_redis.url) as se:
        private_redis.stop()
        assert (await se.put("quiet", b"no redis")).status_code == 201


pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class TinyDisk(MemoryBackend):
    """Our backend protocol with a medium of 500 free bytes (a fake of our own protocol)."""

    async def free_bytes(self) -> int | None:
        return 500 - sum(len(v) for v in self.objects.values())


async def test_real_free_space_is_respected_as_well_as_the_quota(start_se: Any) -> None:
    async with start_se(backend_impl=TinyDisk(), quota_bytes=10_000) as se:
        r = await se.put("big", b"x" * 600)
        assert r.status_code == 507
        assert (await se.put("small", b"x" * 300)).status_code == 201
        info = (await se.client.get("/api/v1/info", headers=se.admin())).json()
        assert info["capacity"]["free"] < 200
