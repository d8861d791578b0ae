"""tus 1.0 resumable uploads, driven by the real ``tuspy`` client where it matters."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusUploadFailed
from tusclient.uploader import Uploader

from shared.discovery import StorageElementInfo
from tests.ingester_module.conftest import Fleet, bearer, copies_on
from tests.support.processes import REPO
from tests.support.servers import free_port
from tests.support.tokens import TestKeys

TUS = {"Tus-Resumable": "1.0.0"}
MIB = 1024 * 1024


class Sha256Uploader(Uploader):  # type: ignore[misc]
    """tuspy checksums with sha1 unless told otherwise; the ingester speaks sha256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def _payload(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _head(url: str, token: str) -> httpx.Response:
    return httpx.head(url, headers={**TUS, **bearer(token)})


CLIENT_SCRIPT = """
import sys, time
from tusclient import client
url, token, path, url_file = sys.argv[1:5]
c = client.TusClient(url, headers={"Authorization": "Bearer " + token})
up = c.uploader(path, chunk_size=256 * 1024, metadata={"filename": "resumed.bin", "tags": "a,b"})
up.set_url(up.create_url())
open(url_file, "w").write(up.url)
while up.offset < up.get_file_size():
    up.upload_chunk()
    time.sleep(0.05)
"""


async def test_tus_resumes_after_the_client_is_killed(
    fleet: Fleet, database_url: str, keys: TestKeys, tmp_path: Path
) -> None:
    edit = fleet.se("edit-1")
    ingester = fleet.start_ingester(database_url)
    token = keys.user()
    source = tmp_path / "file.bin"
    sha = _payload(source, 12 * MIB)
    url_file = tmp_path / "url"
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT)
    endpoint = f"{ingester.url}/api/v1/tus/"
    child = subprocess.Popen(
        [sys.executable, str(script), endpoint, token, str(source), str(url_file)], cwd=REPO
    )
    try:
        deadline = time.monotonic() + 60
        offset = 0
        while offset < 2 * MIB:
            assert time.monotonic() < deadline and child.poll() is None, "client did not get going"
            await asyncio.sleep(0.05)
            if url_file.exists() and url_file.read_text():
                offset = int(
                    (await asyncio.to_thread(_head, url_file.read_text(), token)).headers["upload-offset"]
                )
        child.kill()  # mid-upload, possibly mid-PATCH
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    upload_url = url_file.read_text()
    stopped_at = int((await asyncio.to_thread(_head, upload_url, token)).headers["upload-offset"])
    assert 2 * MIB <= stopped_at < 12 * MIB

    def resume() -> dict[str, str]:
        c = tus_client.TusClient(endpoint, headers={"Authorization": f"Bearer {token}"})
        with source.open("rb") as stream:
            uploader = Sha256Uploader(
                file_stream=stream, client=c, url=upload_url, chunk_size=4 * MIB, upload_checksum=True
            )
            assert uploader.offset == stopped_at  # resumed from the server's offset, not from 0
            uploader.upload()
        return dict(uploader.request.response_headers)

    final = await asyncio.to_thread(resume)
    file_id = final["artstore-file-id"]
    head = await asyncio.to_thread(_head, upload_url, token)
    assert head.status_code == 200 and head.headers["artstore-file-id"] == file_id
    assert head.headers["upload-offset"] == str(12 * MIB)
    stored = await copies_on(keys, edit, file_id)
    assert stored is not None and stored["sha256"] == sha and stored["tags"] == ["a", "b"]
    assert stored["original_filename"] == "resumed.bin"


async def test_tus_resumes_after_the_ingester_restarts(
    fleet: Fleet, database_url: str, keys: TestKeys, tmp_path: Path
) -> None:
    edit = fleet.se("edit-1")
    ingester = fleet.start_ingester(database_url)
    token = keys.user()
    source = tmp_path / "file.bin"
    sha = _payload(source, 10 * MIB)
    endpoint = f"{ingester.url}/api/v1/tus/"
    c = tus_client.TusClient(endpoint, headers={"Authorization": f"Bearer {token}"})
    stream = source.open("rb")
    uploader = Sha256Uploader(
        file_stream=stream,
        client=c,
        chunk_size=MIB,
        metadata={"filename": "restart.bin", "description": "survives", "retention_policy": "temporary"},
        upload_checksum=True,
    )

    def first_part() -> None:
        for _ in range(3):
            uploader.upload_chunk()

    await asyncio.to_thread(first_part)
    assert uploader.offset == 3 * MIB
    ingester.kill()  # SIGKILL: nothing in memory survives, the staging directory does
    ingester.start()
    head = await asyncio.to_thread(_head, uploader.url, token)
    assert head.headers["upload-offset"] == str(3 * MIB) and "artstore-file-id" not in head.headers

    def rest() -> dict[str, str]:
        resumed = Sha256Uploader(file_stream=stream, client=c, url=uploader.url, chunk_size=2 * MIB)
        resumed.upload()
        return dict(resumed.request.response_headers)

    try:
        final = await asyncio.to_thread(rest)
    finally:
        stream.close()
    file_id = final["artstore-file-id"]
    head = await asyncio.to_thread(_head, uploader.url, token)
    assert head.headers["artstore-file-id"] == file_id
    stored = await copies_on(keys, edit, file_id)
    assert stored is not None and stored["sha256"] == sha and stored["description"] == "survives"


async def _create(client: httpx.AsyncClient, token: str, length: int, **meta: str) -> httpx.Response:
    return await client.post(
        "/api/v1/tus/",
        headers={**TUS, **bearer(token), "Upload-Length": str(length), "Upload-Metadata": _meta(**meta)},
    )


def _patch_headers(token: str, offset: int, data: bytes | None = None) -> dict[str, str]:
    headers = {
        **TUS,
        **bearer(token),
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    if data is not None:
        headers["Upload-Checksum"] = "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()
    return headers


async def test_tus_protocol_extensions(fleet: Fleet, ingester: Any, keys: TestKeys) -> None:
    edit, rw = fleet.se("edit-1"), fleet.se("rw-1")
    token, other = keys.user(), keys.user(username="mallory")
    async with ingester(max_upload_bytes=1_000_000) as (_, client):
        options = await client.options("/api/v1/tus/")
        assert options.status_code == 204
        assert set(options.headers["tus-extension"].split(",")) == {
            "creation",
            "creation-with-upload",
            "termination",
            "checksum",
            "expiration",
        }
        assert options.headers["tus-checksum-algorithm"] == "sha256"
        assert options.headers["tus-max-size"] == "1000000"
        no_version = await client.post("/api/v1/tus/", headers={**bearer(token), "Upload-Length": "3"})
        assert no_version.status_code == 412 and no_version.headers["tus-version"] == "1.0.0"
        assert (await _create(client, token, 2_000_000, filename="x")).status_code == 413
        assert (await _create(client, token, 10, filename="x", metadata="{bad")).status_code == 422
        assert (await _create(client, token, 10)).status_code == 422  # no filename

        # creation-with-upload, whole file in the POST: answered after the SE committed it
        body = b"%PDF-1.4 one shot"
        created = await client.post(
            "/api/v1/tus/",
            headers={
                **_patch_headers(token, 0, body),
                "Upload-Length": str(len(body)),
                "Upload-Metadata": _meta(filename="one.pdf", retention_policy="permanent", tags="x,y"),
            },
            content=body,
        )
        assert created.status_code == 201, created.text
        file_id = created.headers["artstore-file-id"]
        stored = await copies_on(keys, rw, file_id)
        assert (
            stored is not None
            and stored["content_type"] == "application/pdf"
            and stored["tags"] == ["x", "y"]
        )

        # core + checksum + expiration
        data = b"0123456789" * 1000
        created = await _create(client, token, len(data), filename="parts.txt")
        assert created.status_code == 201 and "upload-expires" in created.headers
        location = created.headers["location"]
        first = await client.patch(
            location, headers=_patch_headers(token, 0, data[:4000]), content=data[:4000]
        )
        assert first.status_code == 204 and first.headers["upload-offset"] == "4000"
        wrong_offset = await client.patch(location, headers=_patch_headers(token, 0), content=data[:10])
        assert wrong_offset.status_code == 409
        bad_sum = await client.patch(
            location, headers=_patch_headers(token, 4000, b"something else"), content=data[4000:8000]
        )
        assert bad_sum.status_code == 460
        head = await client.head(location, headers={**TUS, **bearer(token)})
        assert head.headers["upload-offset"] == "4000" and head.headers["upload-length"] == str(len(data))
        assert (await client.head(location, headers={**TUS, **bearer(other)})).status_code == 404
        wrong_type = await client.patch(
            location, headers={**_patch_headers(token, 4000), "Content-Type": "text/plain"}, content=b"x"
        )
        assert wrong_type.status_code == 415
        last = await client.patch(
            location, headers=_patch_headers(token, 4000, data[4000:]), content=data[4000:]
        )
        assert last.status_code == 204 and last.headers["upload-offset"] == str(len(data))
        done_id = last.headers["artstore-file-id"]
        assert (await client.head(location, headers={**TUS, **bearer(token)})).headers[
            "artstore-file-id"
        ] == done_id
        stored = await copies_on(keys, edit, done_id)
        assert stored is not None and stored["sha256"] == hashlib.sha256(data).hexdigest()

        # termination
        doomed = (await _create(client, token, 100, filename="doomed")).headers["location"]
        assert (await client.delete(doomed, headers={**TUS, **bearer(token)})).status_code == 204
        assert (await client.head(doomed, headers={**TUS, **bearer(token)})).status_code == 404


async def test_tus_uploads_expire(fleet: Fleet, ingester: Any, keys: TestKeys) -> None:
    token = keys.user()
    async with ingester(tus_expiration_hours=1 / 3600) as (app, client):
        location = (await _create(client, token, 100, filename="late")).headers["location"]
        await asyncio.sleep(1.2)
        assert (await client.head(location, headers={**TUS, **bearer(token)})).status_code == 410
        patch = await client.patch(location, headers=_patch_headers(token, 0), content=b"x" * 10)
        assert patch.status_code == 410
        assert await app.state.tus.cleanup() == 1
        assert (await client.head(location, headers={**TUS, **bearer(token)})).status_code == 404


async def test_a_failed_commit_is_retried_when_the_client_resumes(
    fleet: Fleet, database_url: str, keys: TestKeys, tmp_path: Path
) -> None:
    [se] = await fleet.start_ses(("edit-tus", "edit", 10, 0))
    ingester = fleet.start_ingester(database_url)
    token = keys.user()
    source = tmp_path / "file.bin"
    sha = _payload(source, 3 * MIB)
    endpoint = f"{ingester.url}/api/v1/tus/"
    c = tus_client.TusClient(endpoint, headers={"Authorization": f"Bearer {token}"})
    se.process.kill()  # every byte reaches the staging directory, the commit to an SE fails

    def first_try() -> str:
        with source.open("rb") as stream:
            uploader = Sha256Uploader(
                file_stream=stream, client=c, chunk_size=MIB, metadata={"filename": "late.bin"}
            )
            with pytest.raises(TusUploadFailed) as failed:
                uploader.upload()
            assert failed.value.status_code == 503
            url: str = uploader.url
        return url

    upload_url = await asyncio.to_thread(first_try)
    head = await asyncio.to_thread(_head, upload_url, token)
    # Not done: one byte short, so a resuming client sends the last byte and retries the commit.
    assert head.headers["upload-offset"] == str(3 * MIB - 1) and "artstore-file-id" not in head.headers

    se.process.start()

    def resume() -> dict[str, str]:
        with source.open("rb") as stream:
            uploader = Sha256Uploader(
                file_stream=stream, client=c, url=upload_url, chunk_size=MIB, upload_checksum=True
            )
            assert uploader.offset == 3 * MIB - 1
            uploader.upload()
        return dict(uploader.request.response_headers)

    final = await asyncio.to_thread(resume)
    file_id = final["artstore-file-id"]
    head = await asyncio.to_thread(_head, upload_url, token)
    assert head.headers["artstore-file-id"] == file_id and head.headers["upload-offset"] == str(3 * MIB)
    stored = await copies_on(keys, se, file_id)
    assert stored is not None and stored["sha256"] == sha and stored["size"] == 3 * MIB


async def test_an_empty_patch_at_the_full_length_retries_a_failed_commit(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    edit = fleet.se("edit-1")
    token = keys.user()
    data = b"staged, not stored" * 100
    async with ingester() as (app, client):
        live = app.state.discovery.all()
        dead = {**edit.info(), "url": f"http://127.0.0.1:{free_port()}"}
        app.state.discovery.replace([StorageElementInfo.from_dict(dead)])
        location = (await _create(client, token, len(data), filename="retry.txt")).headers["location"]
        failed = await client.patch(location, headers=_patch_headers(token, 0, data), content=data)
        assert failed.status_code == 503 and failed.json()["code"] == "no_storage_available"
        head = await client.head(location, headers={**TUS, **bearer(token)})
        assert head.headers["upload-offset"] == str(len(data) - 1)
        app.state.discovery.replace(live)
        retried = await client.patch(location, headers=_patch_headers(token, len(data)), content=b"")
        assert retried.status_code == 204, retried.text
        assert retried.headers["upload-offset"] == str(len(data))
        file_id = retried.headers["artstore-file-id"]
    stored = await copies_on(keys, edit, file_id)
    assert stored is not None and stored["sha256"] == hashlib.sha256(data).hexdigest()
