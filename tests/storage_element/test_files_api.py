"""Upload, record, content and feed through the HTTP API (local disk, real Postgres)."""

from __future__ import annotations

import hashlib

from tests.storage_element.conftest import SE


async def test_upload_read_and_feed(se: SE) -> None:
    data = b"hello archive\n" * 1000
    r = await se.put("f1", data, original_filename="Отчёт 2026.txt", description="quarterly report",
                     tags=["finance"], metadata={"dept": "accounting"})
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
    assert "filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%202026.txt" in content.headers["content-disposition"]

    feed = await se.changes()
    upserts = [i for i in feed["items"] if i["op"] == "upsert"]
    assert upserts[-1]["record"] == rec and upserts[-1]["file_id"] == "f1"
    assert feed["last_seq"] == feed["items"][-1]["seq"]
