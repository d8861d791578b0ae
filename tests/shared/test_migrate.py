"""Replicas start together and each migrates at start-up: the database is created once and
the chain applied once, the others wait for it (an advisory lock) instead of failing."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

from shared.db import ensure_database, migrate

REPO = Path(__file__).resolve().parents[2]
CHAINS = [REPO / service / "migrations" for service in ("admin_module", "storage_element")]

# What core_resources does first, as a replica process of its own. The replicas meet at a
# barrier (a file each in a directory) once imported, so their start-ups really overlap.
START_UP = """
import asyncio, os, sys, time
from pathlib import Path
from shared.db import ensure_database, migrate
url, chain, barrier, replicas = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
(barrier / str(os.getpid())).touch()
while len(list(barrier.iterdir())) < replicas:
    time.sleep(0.005)
async def main():
    await ensure_database(url)
    await migrate(url, chain)
asyncio.run(main())
"""
REPLICAS = 3


def plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def latest_revision(chain: Path) -> str:
    return max(p.name.split("_")[0] for p in (chain / "versions").glob("*.py"))


async def revisions(url: str) -> list[str]:
    connection = await asyncpg.connect(plain(url))
    try:
        return [r["version_num"] for r in await connection.fetch("SELECT version_num FROM alembic_version")]
    finally:
        await connection.close()


@pytest.fixture
async def fresh_url(postgres_server: str) -> AsyncIterator[Callable[[], str]]:
    """URLs of databases that do not exist yet (the start-up creates them); dropped after."""
    names: list[str] = []

    def new() -> str:
        names.append(f"t_mig_{uuid.uuid4().hex[:10]}")
        return f"{postgres_server}/{names[-1]}"

    yield new
    admin = await asyncpg.connect(plain(f"{postgres_server}/postgres"))
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.mark.parametrize("chain", CHAINS, ids=lambda chain: chain.parent.name)
async def test_replica_processes_starting_together_all_succeed(
    fresh_url: Callable[[], str], chain: Path, tmp_path: Path
) -> None:
    url = fresh_url()
    replicas = [
        await asyncio.create_subprocess_exec(
            *(sys.executable, "-c", START_UP, url, str(chain), str(tmp_path), str(REPLICAS)),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(REPLICAS)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(r.communicate() for r in replicas)), 240)
    for replica, (output, _) in zip(replicas, outputs, strict=True):
        assert replica.returncode == 0, output.decode()[-3000:]
    assert await revisions(url) == [latest_revision(chain)]


async def test_concurrent_migrations_in_one_process_all_succeed(fresh_url: Callable[[], str]) -> None:
    urls = [fresh_url() for _ in CHAINS]
    for url in urls:
        await ensure_database(url)
    await asyncio.gather(*(migrate(url, chain) for url, chain in zip(urls * 2, CHAINS * 2, strict=True)))
    for url, chain in zip(urls, CHAINS, strict=True):
        assert await revisions(url) == [latest_revision(chain)]
