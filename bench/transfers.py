"""Upload and download workloads, run alternately on each system under the same client.

A *target* uploads ``count`` files of ``size`` bytes at a concurrency and returns handles
that its download side reads back. Each measured run records wall time (throughput or
operations per second) and per-operation latency.

``ARTSTORE_BENCH_DROP_CACHES=1`` (a diagnostic, root only) writes back every dirty page
(``sync``) and drops the kernel's page cache before every measured run, so that no run
meets the clean pages an earlier run left in the cache; ``=sync`` only writes back, so
that no run waits for another's writeback (docs/performance.md, the 1 GiB upload's later
rounds).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench import payload
from bench.client import S3, ArtStore, Body
from bench.cpu import Meter
from bench.stats import latency, summary

Put = Callable[[str, Body, int], Awaitable[str]]
Get = Callable[[str], Awaitable[int]]


@dataclass
class Target:
    name: str
    put: Put | None = None
    get: Get | None = None
    handles: dict[str, list[str]] = field(default_factory=dict)  # workload -> uploaded handles


def body(size: int, seed: int) -> Body:
    return payload.small(size, seed) if size <= payload.CHUNK else payload.stream(size, seed)


def artstore_targets(store: ArtStore) -> list[Target]:
    async def raw(name: str, data: Body, size: int) -> str:
        return str((await store.put_raw(name, data, size))["file_id"])

    async def multipart(name: str, data: Body, size: int) -> str:
        return str((await store.post_multipart(name, data, size))["file_id"])

    return [
        Target("artstore_raw", put=raw, get=store.download),
        Target("artstore_multipart", put=multipart, get=store.download),
    ]


def s3_target(s3: S3, name: str, bucket: str) -> Target:
    async def put(key: str, data: Body, size: int) -> str:
        await s3.put(bucket, key, data, size)
        return key

    async def get(key: str) -> int:
        return await s3.get(bucket, key)

    return Target(name, put=put, get=get)


async def run_many(
    count: int, concurrency: int, op: Callable[[int], Awaitable[Any]]
) -> tuple[float, list[float], list[Any]]:
    """``op(i)`` for i in range(count) on ``concurrency`` workers: (seconds, latencies, results)."""
    results: list[Any] = [None] * count
    latencies: list[float] = [0.0] * count
    next_index = iter(range(count))

    async def worker() -> None:
        for i in next_index:
            started = time.perf_counter()
            results[i] = await op(i)
            latencies[i] = time.perf_counter() - started

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return time.perf_counter() - started, latencies, results


@dataclass(frozen=True)
class Shape:
    label: str  # "big", "medium", "small"
    count: int
    size: int
    concurrency: int


async def upload_run(target: Target, run: int, *, shape: Shape) -> dict[str, Any]:
    assert target.put is not None
    put = target.put

    async def op(i: int) -> str:
        seed = run * 1_000_003 + i
        return await put(
            f"bench-{shape.label}-{target.name}-r{run}-{i}.bin", body(shape.size, seed), shape.size
        )

    seconds, latencies, handles = await run_many(shape.count, shape.concurrency, op)
    target.handles.setdefault(shape.label, handles)
    return _figures(shape, seconds, latencies)


async def download_run(target: Target, run: int, *, shape: Shape) -> dict[str, Any]:
    assert target.get is not None
    get = target.get
    handles = target.handles[shape.label]

    async def op(i: int) -> int:
        got = await get(handles[i])
        if got != shape.size:
            raise RuntimeError(f"{target.name}: downloaded {got} bytes, expected {shape.size}")
        return got

    seconds, latencies, _ = await run_many(len(handles), shape.concurrency, op)
    return _figures(shape, seconds, latencies)


def _figures(shape: Shape, seconds: float, latencies: list[float]) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "mib_s": shape.count * shape.size / 2**20 / seconds,
        "ops_s": shape.count / seconds,
        "latency": latency(latencies),
    }


async def alternate(
    targets: list[Target],
    repeats: int,
    one_run: Callable[[Target, int], Awaitable[dict[str, Any]]],
    meter: Meter | None = None,
) -> dict[str, Any]:
    """``repeats`` rounds; each round runs every target once, the order rotating per round.

    With a ``meter``, each run also records the CPU milliseconds per operation that each
    process group spent while it ran.
    """
    runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    drop = os.environ.get("ARTSTORE_BENCH_DROP_CACHES")
    for r in range(repeats):
        order = targets[r % len(targets) :] + targets[: r % len(targets)]
        for target in order:
            if drop in ("1", "sync"):
                await asyncio.to_thread(drop_caches, drop == "1")
            if meter:
                meter.start()
            figures = await one_run(target, r)
            if meter:
                operations = figures["ops_s"] * figures["seconds"]
                figures["cpu_ms_per_op"] = {g: s * 1000 / operations for g, s in meter.stop().items()}
            runs[target.name].append(figures)
    return {name: _combine(items) for name, items in runs.items()}


def drop_caches(drop: bool = True) -> None:
    """Write dirty pages back, then (``drop``) drop the clean page cache, dentries and inodes."""
    os.sync()
    if drop:
        with open("/proc/sys/vm/drop_caches", "w") as knob:
            knob.write("3\n")


def _combine(items: list[dict[str, Any]]) -> dict[str, Any]:
    combined = {
        "mib_s": summary([i["mib_s"] for i in items]),
        "ops_s": summary([i["ops_s"] for i in items]),
        "latency_p50_ms": summary([i["latency"]["p50_ms"] for i in items]),
        "latency_p95_ms": summary([i["latency"]["p95_ms"] for i in items]),
    }
    if "cpu_ms_per_op" in items[0]:
        groups = items[0]["cpu_ms_per_op"]
        combined["cpu_ms_per_op"] = {
            g: statistics.median(i["cpu_ms_per_op"][g] for i in items) for g in groups
        }
    return combined
