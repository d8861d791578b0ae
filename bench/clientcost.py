"""Measure candidate HTTP clients' own cost before choosing one (issue 10).

A minimal HTTP/1.1 server runs in a child process (its CPU is not counted); this process
measures, per client, the CPU time it spends per small keep-alive request
(``time.process_time`` over sequential requests) and the download rate of one large body.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import aiohttp
import httpx

_SERVER = r"""
import asyncio, sys
BLOCK = b"\0" * (1 << 20)

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1]
            if path.startswith(b"/big/"):
                size = int(path[5:])
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                sent = 0
                while sent < size:
                    chunk = BLOCK[: min(len(BLOCK), size - sent)]
                    writer.write(chunk)
                    sent += len(chunk)
                    await writer.drain()
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


async def _aiohttp(base: str, small: int, big: int) -> dict[str, float]:
    async with aiohttp.ClientSession() as http:
        for _ in range(50):  # warm-up: connection, code paths
            async with http.get(f"{base}/small") as r:
                await r.read()
        cpu = time.process_time()
        for _ in range(small):
            async with http.get(f"{base}/small") as r:
                await r.read()
        per_request = (time.process_time() - cpu) / small
        started = time.perf_counter()
        async with http.get(f"{base}/big/{big}") as r:
            async for _chunk in r.content.iter_chunked(1 << 20):
                pass
        rate = big / (time.perf_counter() - started)
    return {"cpu_ms_per_request": per_request * 1000, "download_mib_s": rate / 2**20}


async def _httpx(base: str, small: int, big: int) -> dict[str, float]:
    async with httpx.AsyncClient() as http:
        for _ in range(50):
            (await http.get(f"{base}/small")).read()
        cpu = time.process_time()
        for _ in range(small):
            (await http.get(f"{base}/small")).read()
        per_request = (time.process_time() - cpu) / small
        started = time.perf_counter()
        async with http.stream("GET", f"{base}/big/{big}") as r:
            async for _chunk in r.aiter_raw(1 << 20):
                pass
        rate = big / (time.perf_counter() - started)
    return {"cpu_ms_per_request": per_request * 1000, "download_mib_s": rate / 2**20}


async def measure(small: int, big_mib: int) -> dict[str, Any]:
    server = subprocess.Popen(  # noqa: ASYNC220 (starts at once; nothing else runs yet)
        [sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(await asyncio.to_thread(server.stdout.readline))
        base = f"http://127.0.0.1:{port}"
        big = big_mib * 2**20
        results = {
            "aiohttp": await _aiohttp(base, small, big),
            "httpx": await _httpx(base, small, big),
        }
    finally:
        server.kill()
        server.wait(5)
    chosen = min(results, key=lambda name: results[name]["cpu_ms_per_request"])
    return {**results, "chosen": chosen, "requests": small, "download_mib": big_mib}
