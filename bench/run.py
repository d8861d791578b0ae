"""``python -m bench.run [--smoke]``: start everything, measure side by side, report.

Order of a run: machine ceilings, the client's own cost, then the fleet (as ``make run``
starts it, port offset ``ARTSTORE_BENCH_PORT_OFFSET``, default 500) and SeaweedFS
(buckets with and without fsync); then warm-up, the three transfer shapes (uploads then
downloads, systems alternating round by round), the search catalog and its query mix,
and upload-to-searchable. Everything started is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import catalog, ceilings, clientcost, config, cpu, fleet, report, search, seaweed
from bench.client import S3, ArtStore, Failed, session
from bench.rss import PeakRss
from bench.transfers import Shape, Target, alternate, artstore_targets, download_run, s3_target, upload_run


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextlib.asynccontextmanager
async def services(workdir: Path, sizes: config.Sizes) -> AsyncIterator[tuple[fleet.Fleet, seaweed.Seaweed]]:
    """Redis, SeaweedFS and the fleet, started side by side in threads; all stopped at exit."""
    redis = fleet.start_redis(workdir / "redis")
    running: list[Any] = [redis]
    try:
        log("starting SeaweedFS and the ArtStore fleet")
        weed_start = asyncio.to_thread(seaweed.start, workdir / "seaweed")
        fleet_start = asyncio.to_thread(fleet.start, workdir / "var", sizes.port_offset, redis.url)
        started = await asyncio.gather(weed_start, fleet_start, return_exceptions=True)
        running += [s for s in started if not isinstance(s, BaseException)]
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        weed, artstore = started
        assert isinstance(weed, seaweed.Seaweed) and isinstance(artstore, fleet.Fleet)
        yield artstore, weed
    finally:
        for server in reversed(running):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(server.stop)


async def wait_uploads_work(store: ArtStore, within: float = 60) -> None:
    """Until the ingester accepts an upload (it learns the SEs shortly after start-up)."""
    deadline = time.monotonic() + within
    while True:
        try:
            await store.put_raw("bench-probe.bin", b"probe", 5)
            return
        except Failed:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def wait_known(store: ArtStore, file_ids: list[str], within: float = 120) -> None:
    """Until the query module's catalog has each file (downloads go through it)."""
    deadline = time.monotonic() + within
    for file_id in file_ids:
        while await store.record(file_id) != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{file_id} never reached the query catalog")
            await asyncio.sleep(0.05)


def process_groups(artstore: fleet.Fleet, weed: seaweed.Seaweed) -> cpu.Groups:
    """Every process a request may touch, by group, for CPU accounting."""
    pidfile = artstore.var / "postgres" / "data" / "postmaster.pid"

    def groups() -> dict[str, list[int]]:
        out = {name: [pid] for name, pid in artstore.services.items()}
        if pidfile.exists():
            postmaster = int(pidfile.read_text().split()[0])
            out["postgres"] = [postmaster, *cpu.children(postmaster)]
        out["seaweedfs"] = [weed.process.pid]
        out["client"] = [os.getpid()]
        return out

    return groups


async def transfers(
    sizes: config.Sizes,
    store: ArtStore,
    uploads: list[Target],
    pids: dict[str, dict[str, int]],
    meter: cpu.Meter,
    results: dict[str, Any],
) -> None:
    """The three shapes; each one's figures land in ``results`` as soon as it is measured."""
    shapes = [
        Shape("big", 1, sizes.big_mib * 2**20, 1),
        Shape("medium", sizes.medium_count, sizes.medium_kib * 1024, sizes.medium_concurrency),
        Shape("small", sizes.small_count, sizes.small_kib * 1024, sizes.small_concurrency),
    ]
    out: dict[str, Any] = results.setdefault("transfers", {})
    by_name = {t.name: t for t in uploads}
    for shape in shapes:
        log(f"{shape.label}: {shape.count} x {shape.size / 2**20:g} MiB at concurrency {shape.concurrency}")
        await store.fresh_token()
        flat = {f"{group}/{name}": pid for group, m in pids.items() for name, pid in m.items()}
        async with PeakRss(flat) as peak:
            up = await alternate(uploads, sizes.repeats, partial(upload_run, shape=shape), meter)
            raw_ids = by_name["artstore_raw"].handles[shape.label]
            sample = raw_ids if len(raw_ids) <= 300 else random.sample(raw_ids, 300)
            await wait_known(store, sample)
            await store.fresh_token()
            downloads = [
                Target("artstore", get=store.download, handles={shape.label: raw_ids}),
                Target(
                    "seaweed",
                    get=by_name["seaweed_fsync"].get,
                    handles={shape.label: by_name["seaweed_fsync"].handles[shape.label]},
                ),
            ]
            down = await alternate(downloads, sizes.repeats, partial(download_run, shape=shape), meter)
        out[shape.label] = {"upload": up, "download": down}
        if shape.label == "big":
            results["rss_during_1gib"] = {g: {n: peak.peaks[f"{g}/{n}"] for n in m} for g, m in pids.items()}


async def warm_up(targets: list[Target]) -> None:
    shape = Shape("warmup", 8, 64 * 1024, 4)
    for target in targets:
        await upload_run(target, 0, shape=shape)


async def search_bench(sizes: config.Sizes, store: ArtStore, dsn: dict[str, Any]) -> dict[str, Any]:
    log(f"search: {sizes.catalog_real} real uploads")
    real = await search.upload_real(store, sizes.catalog_real, sizes.small_concurrency)
    ids = real.pop("ids")
    await wait_known(store, ids[-50:] + random.sample(ids, min(200, len(ids))), within=600)
    log(f"search: loading {sizes.catalog_rows} synthetic catalog rows")
    loaded = await catalog.load(dsn, ids[0], sizes.catalog_rows)
    await store.fresh_token()
    log("search: upload to searchable")
    searchable = await search.upload_to_searchable(store, sizes.searchable_samples)
    log(f"search: {sizes.search_queries} queries")
    queries = search.query_mix(sizes.catalog_rows, sizes.search_queries)
    mix = await search.run_mix(store, queries, sizes.search_concurrency)
    return {"real_uploads": real, "catalog": loaded, "upload_to_searchable": searchable, "mix": mix}


@contextlib.contextmanager
def failure_noted(results: dict[str, Any], part: str) -> Iterator[None]:
    """A part that fails is recorded (and makes the run exit 1); the other parts still run."""
    try:
        yield
    except Exception as exc:
        log(f"{part} failed: {exc!r}")
        results.setdefault("failures", {})[part] = repr(exc)[:2000]


def code_version() -> dict[str, Any]:
    """The commit measured, and how many files differed from it (others edit the same tree)."""
    repo = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    changed = [line for line in git("status", "--short", "--untracked-files=no").splitlines() if line]
    return {"head": git("rev-parse", "HEAD"), "uncommitted_files": len(changed)}


async def measure(sizes: config.Sizes, workdir: Path, smoke: bool, parts: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "mode": ("smoke" if smoke else "full")
        + ("" if parts == {"transfers", "search"} else "-" + "-".join(sorted(parts))),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": sizes.as_dict(),
        "code": code_version(),
    }
    log("ceilings: disk (dd) and loopback")
    results["ceilings"] = {
        "disk": ceilings.disk(workdir / "dd", min(1024, sizes.big_mib), 200 if smoke else 2000),
        "loopback": ceilings.loopback(sizes.big_mib),
    }
    log("client cost: aiohttp vs httpx")
    results["client_cost"] = await clientcost.measure(300 if smoke else 3000, sizes.big_mib)
    async with services(workdir, sizes) as (artstore, weed):
        results["filer_conf"] = weed.configure_fsync(seaweed.FSYNC_BUCKET)
        async with session() as http:
            s3 = S3(http, weed.s3_url, seaweed.ACCESS_KEY, seaweed.SECRET_KEY)
            for bucket in (seaweed.FSYNC_BUCKET, seaweed.DEFAULT_BUCKET):
                await s3.create_bucket(bucket)
            store = ArtStore(http, artstore.admin, artstore.ingester, artstore.query)
            await store.login("admin", artstore.admin_password())
            uploads = [
                *artstore_targets(store),
                s3_target(s3, "seaweed_fsync", seaweed.FSYNC_BUCKET),
                s3_target(s3, "seaweed_default", seaweed.DEFAULT_BUCKET),
            ]
            await wait_uploads_work(store)
            log("warm-up")
            await warm_up(uploads)
            pids = {"artstore": artstore.services, "seaweed": {"weed": weed.process.pid}}
            if "transfers" in parts:
                meter = cpu.Meter(process_groups(artstore, weed))
                with failure_noted(results, "transfers"):
                    await transfers(sizes, store, uploads, pids, meter, results)
            dsn = {"host": artstore.postgres_socket, "user": "postgres", "database": "artstore_query"}
            if "search" in parts:
                with failure_noted(results, "search"):
                    results["search"] = await search_bench(sizes, store, dsn)
    results["ratios"] = report.ratios(results)
    results["goals"] = report.goals(results)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a few seconds, checks the harness")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    parser.add_argument(
        "--only",
        choices=["transfers", "search"],
        action="append",
        help="run only these parts (repeatable; default: everything)",
    )
    args = parser.parse_args(argv)
    sizes = config.load(smoke=args.smoke)
    workdir = Path(tempfile.mkdtemp(prefix="artstore-bench-"))
    log(f"work directory {workdir}; sizes {sizes.as_dict()}")
    try:
        results = asyncio.run(measure(sizes, workdir, args.smoke, set(args.only or ["transfers", "search"])))
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report.table(results))
    log(f"results written to {report.write(results)}")
    for part, error in results.get("failures", {}).items():
        log(f"FAILED {part}: {error}")
    return 1 if results.get("failures") else 0


if __name__ == "__main__":
    sys.exit(main())
