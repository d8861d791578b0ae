"""``python -m bench.profile``: where the time of each ArtStore service goes, per workload.

Starts the same fleet as :mod:`bench.run` and runs one workload at a time (1 large raw
upload and its download, small raw uploads and their downloads, broad and selective
searches) while ``py-spy`` samples every service (wall clock, 100 Hz) and ``strace -c``
counts the sync calls (``fsync``, ``fdatasync``) of the storage element, of the fleet's
Postgres and of SeaweedFS. Writes ``bench/results/profile-<time>.md``.

``py-spy`` is not a project dependency: point ``ARTSTORE_BENCH_PYSPY`` at a binary (or
have it on ``PATH``); without it only the sync counts are taken.
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import catalog, config, payload, report, run, search, seaweed
from bench.client import S3, ArtStore, session
from bench.transfers import run_many

# Leaf frames of a thread that waits: worker threads on their queue, the loop in select.
IDLE = (
    "Condition.wait (threading.py",
    "Runner.run (asyncio/runners.py",  # uvloop waits in C under run()
    "select (selectors.py",
    "WorkerThread.run (anyio/",  # an anyio worker thread waiting for work
)
PROJECT = ("shared/", "storage_element/", "ingester_module/", "query_module/", "admin_module/")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def postmaster(var: Path) -> int | None:
    pidfile = var / "postgres" / "data" / "postmaster.pid"
    return int(pidfile.read_text().split()[0]) if pidfile.exists() else None


class Probe:
    """py-spy on each named service and strace -c on each traced group, for one phase."""

    def __init__(self, out: Path, phase: str, services: dict[str, int], traced: dict[str, list[int]]) -> None:
        self.out, self.phase, self.services, self.traced = out, phase, services, traced
        self.procs: list[tuple[str, str, subprocess.Popen[bytes]]] = []

    def start(self) -> None:
        pyspy = os.environ.get("ARTSTORE_BENCH_PYSPY") or shutil.which("py-spy")
        if pyspy:
            for name, pid in self.services.items():
                path = self.out / f"{self.phase}.{name}.pyspy"
                argv = [
                    pyspy,
                    "record",
                    "--nonblocking",
                    "-p",
                    str(pid),
                    "-r",
                    "100",
                    "-f",
                    "raw",
                    "-o",
                    str(path),
                ]
                self.procs.append(
                    (
                        "pyspy",
                        name,
                        subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                    )
                )
        for name, pids in self.traced.items():
            path = self.out / f"{self.phase}.{name}.strace"
            argv = ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync,sync_file_range", "-o", str(path)]
            for pid in pids:
                argv += ["-p", str(pid)]
            self.procs.append(
                ("strace", name, subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            )
        time.sleep(1.5)  # both attach before the workload starts

    def stop(self) -> None:
        for _, _, proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for _, _, proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def sync_calls(path: Path) -> int:
    if not path.exists():
        return 0
    lines = [line.split() for line in path.read_text().splitlines()]
    return sum(
        int(parts[3])
        for parts in lines
        if len(parts) >= 5 and parts[-1] in ("fsync", "fdatasync", "sync_file_range")
    )


def summarize(path: Path, top: int = 10) -> list[str]:
    if not path.exists():
        return ["(no samples)"]
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = busy = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        if frames[-1].startswith(IDLE):
            continue
        busy += n
        own[frames[-1]] += n
        for frame in set(frames):
            if any(p in frame for p in PROJECT):
                inclusive[frame] += n
    if not total:
        return ["(no samples)"]
    lines = [
        f"busy {busy / total:.0%} of {total} samples (wall clock, all threads)",
        "",
        "own time (busy samples):",
    ]
    lines += [f"  {n / total:6.1%}  {frame[:140]}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive, project code:"]
    lines += [f"  {n / total:6.1%}  {frame[:140]}" for frame, n in inclusive.most_common(top)]
    return lines


async def phase(
    out: Path,
    name: str,
    count: int,
    services: dict[str, int],
    traced: dict[str, list[int]],
    work: Callable[[], Awaitable[Any]],
    notes: list[str],
) -> None:
    probe = Probe(out, name, services, traced)
    await asyncio.to_thread(probe.start)
    started = time.perf_counter()
    await work()
    seconds = time.perf_counter() - started
    await asyncio.to_thread(probe.stop)
    notes += [f"## {name}", "", f"{count} operations in {seconds:.2f} s (under the profilers).", ""]
    for group in traced:
        calls = sync_calls(out / f"{name}.{group}.strace")
        notes.append(f"- sync calls by {group}: {calls} ({calls / count:.2f} per operation)")
    for service in services:
        notes += ["", f"### {service}", "", "```", *summarize(out / f"{name}.{service}.pyspy"), "```"]
    notes.append("")


async def searches(store: ArtStore, queries: list[search.Query]) -> None:
    await run_many(len(queries), 1, lambda i: store.search(queries[i][1]))


async def profile(sizes: config.Sizes, workdir: Path, out: Path) -> list[str]:
    notes = [
        f"# Profile, {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
        f"sizes `{sizes.as_dict()}`",
        "",
    ]
    async with run.services(workdir, sizes) as (fleet, weed):
        weed.configure_fsync(seaweed.FSYNC_BUCKET)
        async with session() as http:
            store = ArtStore(http, fleet.admin, fleet.ingester, fleet.query)
            s3 = S3(http, weed.s3_url, seaweed.ACCESS_KEY, seaweed.SECRET_KEY)
            await s3.create_bucket(seaweed.FSYNC_BUCKET)
            await store.login("admin", fleet.admin_password())
            await run.wait_uploads_work(store)
            pg = postmaster(workdir / "var")
            traced = {
                "se-edit-1": [fleet.services["se-edit-1"]],
                "postgres": [pg, *children(pg)] if pg else [],
                "seaweedfs": [weed.process.pid],
            }
            services = dict(fleet.services)
            big = sizes.big_mib * 2**20
            ids: list[str] = []

            async def big_up() -> None:
                ids.append(
                    str((await store.put_raw("profile-big.bin", payload.stream(big, 1), big))["file_id"])
                )

            await phase(out, "big-upload-raw", 1, services, traced, big_up, notes)
            await run.wait_known(store, ids)
            await phase(out, "big-download", 1, services, traced, lambda: store.download(ids[0]), notes)
            n, conc, small = sizes.small_count, sizes.small_concurrency, sizes.small_kib * 1024
            small_ids: list[Any] = []

            async def small_up() -> None:
                _, _, got = await run_many(
                    n, conc, lambda i: store.put_raw(f"p{i}.bin", payload.small(small, i), small)
                )
                small_ids.extend(r["file_id"] for r in got)

            await phase(out, "small-upload-raw", n, services, traced, small_up, notes)

            async def s3_small() -> None:
                await run_many(
                    n, conc, lambda i: s3.put(seaweed.FSYNC_BUCKET, f"p{i}", payload.small(small, i), small)
                )

            await phase(
                out, "small-put-seaweedfs-fsync", n, {}, {"seaweedfs": [weed.process.pid]}, s3_small, notes
            )
            await run.wait_known(store, small_ids[-20:])
            await phase(
                out,
                "small-download",
                n,
                services,
                {},
                lambda: run_many(n, conc, lambda i: store.download(small_ids[i])),
                notes,
            )
            dsn = {"host": fleet.postgres_socket, "user": "postgres", "database": "artstore_query"}
            await catalog.load(dsn, small_ids[0], sizes.catalog_rows)
            for kind in ("broad", "selective"):
                queries = [q for q in search.query_mix(sizes.catalog_rows, 200) if q[0] == kind][:20]
                await phase(
                    out,
                    f"search-{kind}",
                    len(queries),
                    {"query": services["query"]},
                    {},
                    partial(searches, store, queries),
                    notes,
                )
    return notes


def main() -> int:
    sizes = config.load(smoke="--smoke" in sys.argv)
    workdir = Path(tempfile.mkdtemp(prefix="artstore-profile-"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = report.RESULTS / f"profile-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        notes = asyncio.run(profile(sizes, workdir, out))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    path = out.with_suffix(".md")
    path.write_text("\n".join(notes) + "\n")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
