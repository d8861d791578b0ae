"""Command line jobs, the reindex catch-up of concurrent writes, and audit delivery."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from storage_element.index.tables import files
from storage_element.jobs import reindex as reindex_module
from storage_element.storage import mutate, writer
from storage_element.storage.layout import quarantine_key, sidecar_key
from storage_element.storage.sidecar import Sidecar
from tests.storage_element import process
from tests.storage_element.conftest import SE


def _cli(command: str, se: SE) -> dict[str, Any]:
    s = se.settings
    env = process.se_env(
        database_url=s.database_url,
        root=s.root,
        state_dir=s.state_dir,
        admin_url="http://127.0.0.1:9",
        port=0,
        ARTSTORE_STORAGE_SE_ID=s.se_id,
    )
    out = subprocess.run(
        [sys.executable, "-m", "storage_element", command],
        env=env,
        cwd=process.ROOT,
        capture_output=True,
        timeout=120,
        check=True,
    )
    report: dict[str, Any] = json.loads(out.stdout)
    return report


async def test_cli_recover_twice_and_reindex(se: SE) -> None:
    await se.put("c1", b"one")
    key = "2026/11/26/03/lost_c2.bin"
    await se.store.wal.intent("put", "c2", {"data": key, "temp": key + ".tmp", "sidecar": key + ".attr.json"})
    (se.settings.root / "2026/11/26/03").mkdir(parents=True, exist_ok=True)
    (se.settings.root / key).write_bytes(b"renamed, never committed")
    first = await asyncio.to_thread(_cli, "recover", se)
    assert first["report"]["recovery"]["rolled_back"] == [{"op": "put", "file_id": "c2"}]
    assert not (se.settings.root / key).exists()
    second = await asyncio.to_thread(_cli, "recover", se)
    assert second["report"]["recovery"] == {"rolled_forward": [], "rolled_back": [], "already_indexed": []}
    rebuilt = await asyncio.to_thread(_cli, "reindex", se)
    assert rebuilt["report"]["files"] == 1
    assert (await se.changes())["feed_epoch"] == rebuilt["report"]["feed_epoch"]
    assert (await se.client.get("/api/v1/files/c1", headers=se.auth())).status_code == 200


async def test_cli_scrub_quarantines_a_flipped_byte_and_reports_it(se: SE) -> None:
    good, bad = os.urandom(200_000), os.urandom(300_000)
    for file_id, data in (("good", good), ("bad", bad)):
        assert (await se.put(file_id, data)).status_code == 201
    sidecar = await se.store.find("bad")
    assert sidecar is not None
    path = se.settings.root / sidecar.path
    flipped = bytearray(path.read_bytes())
    flipped[150_000] ^= 0x01
    path.write_bytes(bytes(flipped))

    scrubbed = await asyncio.to_thread(_cli, "scrub", se)
    assert scrubbed["command"] == "scrub"
    report = scrubbed["report"]
    assert report["checked"] == 2 and report["bytes"] == len(good) + len(bad)
    assert report["corrupt"] == [
        {
            "file_id": "bad",
            "expected_sha256": hashlib.sha256(bad).hexdigest(),
            "observed_sha256": hashlib.sha256(flipped).hexdigest(),
        }
    ]
    # Quarantined: the bytes moved aside, the sidecar and the index say corrupt, the feed tells.
    assert not path.exists()
    assert (se.settings.root / quarantine_key(sidecar.path)).read_bytes() == bytes(flipped)
    on_disk = Sidecar.load((se.settings.root / sidecar_key(sidecar.path)).read_bytes())
    assert on_disk.copy_state == "corrupt" and on_disk.quarantine is not None
    assert on_disk.quarantine.observed_sha256 == hashlib.sha256(flipped).hexdigest()
    refused = await se.client.get("/api/v1/files/bad/content", headers=se.auth())
    assert refused.status_code == 409 and refused.json()["code"] == "corrupt"
    intact = await se.client.get("/api/v1/files/good/content", headers=se.auth())
    assert intact.status_code == 200 and intact.content == good
    last = (await se.changes())["items"][-1]
    assert last["file_id"] == "bad" and last["record"]["copies"][0]["state"] == "corrupt"
    async with se.store.sessions() as session:
        rows = (await session.execute(sa.select(files.c.file_id, files.c.last_verified_at))).all()
    verified = {row.file_id: row.last_verified_at for row in rows}
    assert verified["good"] is not None and verified["bad"] is None

    again = await asyncio.to_thread(_cli, "scrub", se)
    assert again["report"]["checked"] == 1 and again["report"]["corrupt"] == []


async def test_writes_during_a_reindex_are_caught_up(se: SE, monkeypatch: pytest.MonkeyPatch) -> None:
    await se.put("stays", b"1")
    await se.put("goes", b"2", retention={"policy": "temporary", "expires_at": "2020-01-01T00:00:00Z"})
    original = reindex_module._scan

    async def scan_then_write(store: Any, generation: int, progress: Any) -> dict[str, Any]:
        report = await original(store, generation, progress)
        body = writer.Body(_chunks(b"late"), length=4, limit=4, expected_sha256=None)
        fields = {
            "file_id": "late",
            "original_filename": "late.txt",
            "uploaded_via": "t",
            "owner": {"id": "t", "username": "t", "kind": "service"},
        }
        await writer.put(store, fields=fields, body=body, reserve=4)
        await mutate.delete(store, "goes", actor=None)
        await mutate.update(store, "stays", {"description": "during"}, actor=None)
        return report

    monkeypatch.setattr(reindex_module, "_scan", scan_then_write)
    report = await reindex_module.reindex(se.store)
    assert report["caught_up"] == 3
    listing = (await se.client.get("/api/v1/files", headers=se.auth())).json()["items"]
    assert {i["file_id"]: i["description"] for i in listing} == {"late": "", "stays": "during"}
    feed = await se.changes()
    assert feed["feed_epoch"] == report["feed_epoch"]
    ops = [(i["op"], i["file_id"]) for i in feed["items"]]
    assert ops[-3:] == [("upsert", "late"), ("delete", "goes"), ("upsert", "stays")]


async def _chunks(data: bytes) -> Any:
    yield data


@contextmanager
def fake_admin() -> Iterator[list[dict[str, Any]]]:
    """The admin's token and audit endpoints (our own protocol)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/api/v1/auth/token":
                answer = {"access_token": "t0k3n", "token_type": "Bearer", "expires_in": 1800}
            else:
                assert self.headers["Authorization"] == "Bearer t0k3n"
                received.extend(json.loads(body)["events"])
                answer = {"accepted": len(received)}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        received.append({"url": f"http://127.0.0.1:{server.server_address[1]}"})
        yield received
    finally:
        server.shutdown()
        server.server_close()


async def test_audit_events_are_delivered_when_credentials_are_configured(
    start_se: Any, tmp_path: Path
) -> None:
    with fake_admin() as received:
        url = received.pop()["url"]
        async with start_se(
            admin_url=url, service_client_secret=SecretStr("a-real-looking-value-0123456789")
        ) as se:
            await se.put("audited", b"x")
            for _ in range(100):
                if any(e.get("action") == "file.upload" for e in received):
                    break
                await asyncio.sleep(0.05)
            # Nothing was refused for good, and the parked counter is on the SE's /metrics.
            metrics = (await se.client.get("/metrics")).text
            assert "artstore_audit_events_parked_total 0.0" in metrics, metrics
    upload = next(e for e in received if e.get("action") == "file.upload")
    assert upload["target"] == "audited" and upload["actor"]["username"] == "svc-ingester"
    assert upload["details"]["sha256"]


async def test_one_reindex_at_a_time(se: SE) -> None:
    await se.put("one", b"1")
    results = await asyncio.gather(
        reindex_module.reindex(se.store), reindex_module.reindex(se.store), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and getattr(refused[0], "status", None) == 409
    listing = (await se.client.get("/api/v1/files", headers=se.auth())).json()["items"]
    assert [i["file_id"] for i in listing] == ["one"]
