"""Large uploads stream through the ingester with bounded memory (a real process, RSS from /proc).

Each path uploads a 1 GiB file, as the issue asks (about 20 s here for both). The bound on
the ingester's RSS growth does not depend on the size: memory does not grow with it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.ingester_module.conftest import Fleet, bearer, copies_on
from tests.support.tokens import TestKeys

SIZE = 1024 * 1024 * 1024
GROWTH_BOUND = 48 * 1024 * 1024
BLOCK = 1024 * 1024


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _write_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = bytes(range(256)) * (BLOCK // 256)
    with path.open("wb") as f:
        for n in range(size // BLOCK):
            chunk = n.to_bytes(8, "big") + block[8:]
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


async def _peak_rss_during(pid: int, work: asyncio.Task[httpx.Response]) -> int:
    peak = 0
    while not work.done():
        peak = max(peak, _rss(pid))
        await asyncio.sleep(0.05)
    return peak


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(BLOCK):
            yield chunk


async def test_large_multipart_and_raw_uploads_keep_memory_bounded(
    fleet: Fleet, database_url: str, keys: TestKeys, tmp_path: Path
) -> None:
    edit = fleet.se("edit-1")
    ingester = fleet.start_ingester(database_url)
    assert ingester.process is not None
    pid = ingester.process.pid
    big = tmp_path / "big.bin"
    sha = await asyncio.to_thread(_write_file, big, SIZE)
    token = keys.user()
    async with httpx.AsyncClient(base_url=ingester.url, timeout=600) as client:
        warm = await client.post("/api/v1/files", headers=bearer(token), files={"file": ("w", b"warm-up")})
        assert warm.status_code == 201, warm.text
        baseline = _rss(pid)

        with big.open("rb") as f:
            multipart = asyncio.create_task(
                client.post("/api/v1/files", headers=bearer(token), files={"file": ("big.bin", f)})
            )
            peak_multipart = await _peak_rss_during(pid, multipart)
            response = multipart.result()
        assert response.status_code == 201, response.text
        assert response.json()["size"] == SIZE and response.json()["sha256"] == sha

        raw = asyncio.create_task(
            client.put(
                "/api/v1/files",
                params={"filename": "big.bin"},
                headers={**bearer(token), "Content-Length": str(SIZE)},
                content=_file_chunks(big),
            )
        )
        peak_raw = await _peak_rss_during(pid, raw)
        raw_response = raw.result()
    assert raw_response.status_code == 201, raw_response.text
    assert raw_response.json()["sha256"] == sha
    stored = await copies_on(keys, edit, raw_response.json()["file_id"])
    assert stored is not None and stored["size"] == SIZE
    growth = (peak_multipart - baseline) >> 20, (peak_raw - baseline) >> 20
    print(f"rss baseline {baseline >> 20} MiB; growth multipart +{growth[0]} MiB, raw +{growth[1]} MiB")
    assert peak_multipart - baseline < GROWTH_BOUND, (baseline, peak_multipart)
    assert peak_raw - baseline < GROWTH_BOUND, (baseline, peak_raw)
