"""A storage element on S3 (a real SeaweedFS): the same API, multipart data, sidecar last."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import pytest

from storage_element.storage.layout import sidecar_key
from storage_element.storage.recovery import recover
from tests.support import servers

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def s3_settings(seaweedfs: servers.Managed) -> dict[str, Any]:
    return {
        "backend": "s3",
        "s3_endpoint": seaweedfs.url,
        "s3_access_key": servers.S3_ACCESS_KEY,
        "s3_secret_key": servers.S3_SECRET_KEY,
        "env": "development",  # the test server's secret reads as a placeholder
        "s3_bucket": f"se-{uuid.uuid4().hex[:10]}",
        "s3_prefix": "se-s3",
    }


async def test_upload_read_patch_delete_on_s3(start_se: Any, s3_settings: dict[str, Any]) -> None:
    data = os.urandom(10 * 1024 * 1024 + 5)  # two multipart parts
    async with start_se(initial_mode="edit", **s3_settings) as se:
        r = await se.put("big", data, original_filename="big.bin")
        assert r.status_code == 201 and r.json()["sha256"] == hashlib.sha256(data).hexdigest()
        assert (await se.put("big", data, original_filename="big.bin")).status_code == 200
        full = await se.client.get("/api/v1/files/big/content", headers=se.auth())
        assert full.content == data
        part = await se.client.get("/api/v1/files/big/content", headers={**se.auth(), "Range": "bytes=-10"})
        assert part.status_code == 206 and part.content == data[-10:]
        assert (await se.client.post("/api/v1/files/big/verify", headers=se.auth())).json()["ok"] is True
        patched = await se.client.patch("/api/v1/files/big", json={"tags": ["s3"]}, headers=se.auth())
        assert patched.json()["revision"] == 2
        info = (await se.client.get("/api/v1/info", headers=se.admin())).json()
        assert info["backend"] == "s3" and info["capacity"]["used"] == len(data)
        assert (await se.client.delete("/api/v1/files/big", headers=se.auth())).status_code == 204
        assert [k async for k in se.store.backend.list_keys()] == []


async def test_recovery_removes_a_data_object_without_sidecar(
    start_se: Any, s3_settings: dict[str, Any]
) -> None:
    async with start_se(**s3_settings) as se:
        key = "2026/11/26/03/orphan_x1.bin"
        await se.store.wal.intent(
            "put", "x1", {"data": key, "temp": key + ".tmp", "sidecar": sidecar_key(key)}
        )
        writer = await se.store.backend.open_writer(key, key + ".tmp")
        await writer.write(b"never committed")
        await writer.commit()
        report = await recover(se.store)
        assert report["rolled_back"] == [{"op": "put", "file_id": "x1"}]
        assert [k async for k in se.store.backend.list_keys()] == []
        assert (await se.client.get("/api/v1/files/x1", headers=se.auth())).status_code == 404
