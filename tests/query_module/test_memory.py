"""A large download streams through the query module with bounded memory (a real process).

The file (128 MiB) is written straight to a real SE, the query module runs as
``python -m query_module``, and its RSS (from /proc) is sampled while the file streams
through it: the growth must stay far below the file size.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.query_module.conftest import LINK_SECRET, SERVICE_SECRET, Fleet, bearer, eventually, new_database
from tests.support.processes import ServiceProcess
from tests.support.tokens import ISSUER, TestKeys

SIZE = 128 * 1024 * 1024
BLOCK = 1024 * 1024
GROWTH_BOUND = 48 * 1024 * 1024
FILE_ID = "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b"


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _blocks() -> AsyncIterator[bytes]:
    for n in range(SIZE // BLOCK):
        yield n.to_bytes(8, "big") * (BLOCK // 8)


def _sha() -> str:
    digest = hashlib.sha256()
    for n in range(SIZE // BLOCK):
        digest.update(n.to_bytes(8, "big") * (BLOCK // 8))
    return digest.hexdigest()


async def test_a_large_download_keeps_memory_bounded(
    fleet: Fleet, postgres_server: str, redis_url: str, keys: TestKeys, tmp_path: Path
) -> None:
    import base64

    (se,) = await fleet.start_ses(("rw-1", "rw"))
    attrs = base64.urlsafe_b64encode(json.dumps({"original_filename": "big.bin"}).encode()).decode()
    writer = keys.service("svc-ingester", "files:write")
    async with httpx.AsyncClient(base_url=se.url, timeout=300) as client:
        put = await client.put(
            f"/api/v1/files/{FILE_ID}",
            content=_blocks(),
            headers={
                **bearer(writer),
                "Content-Length": str(SIZE),
                "X-ArtStore-Attributes": attrs.rstrip("="),
            },
        )
    assert put.status_code == 201, put.text
    settings = {
        "database_url": await new_database(postgres_server),
        "redis_url": redis_url,
        "admin_url": fleet.admin.url,
        "jwt_issuer": ISSUER,
        "link_secret": LINK_SECRET,
        "service_client_secret": SERVICE_SECRET,
        "storage_elements": json.dumps(fleet.storage_elements()),
        "log_level": "WARNING",
    }
    query = ServiceProcess("query_module", "ARTSTORE_QUERY_", settings, log_path=tmp_path / "query.log")
    query.start()
    try:
        assert query.process is not None
        pid = query.process.pid
        token = keys.user("OPERATOR", "olga")
        async with httpx.AsyncClient(base_url=query.url, timeout=300) as client:

            async def indexed() -> bool:
                return (
                    await client.get(f"/api/v1/files/{FILE_ID}", headers=bearer(token))
                ).status_code == 200

            await eventually(indexed, timeout=30)
            baseline = _rss(pid)
            peak = baseline
            digest = hashlib.sha256()
            received = 0
            async with client.stream("GET", f"/api/v1/files/{FILE_ID}/download", headers=bearer(token)) as r:
                assert r.status_code == 200
                async for chunk in r.aiter_raw():
                    digest.update(chunk)
                    received += len(chunk)
                    peak = max(peak, _rss(pid))
        assert received == SIZE and digest.hexdigest() == await asyncio.to_thread(_sha)
        print(f"query rss baseline {baseline >> 20} MiB, growth +{(peak - baseline) >> 20} MiB")
        assert peak - baseline < GROWTH_BOUND, (baseline, peak)
    finally:
        query.stop()
