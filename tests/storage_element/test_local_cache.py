"""The local backend's page-cache policy: large durable files leave the cache, small ones stay.

Residency is read with util-linux's ``fincore`` (``mincore(2)`` on a mapping of the file),
on the real filesystem under ``tmp_path``: the test sees what the kernel holds.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from storage_element.storage.backends.local import LocalBackend

MIB = 1024 * 1024


def resident_bytes(path: Path) -> int:
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.split()[0])


@pytest.fixture(autouse=True)
def _page_cache_is_observable(tmp_path: Path) -> None:
    """tmpfs keeps every page in memory by design; the policy is about real disks."""
    probe = tmp_path / "probe"
    with open(probe, "wb") as f:
        f.write(b"\0" * MIB)
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    if resident_bytes(probe) != 0:
        pytest.fail(f"{tmp_path} cannot drop clean pages (tmpfs?); run the tests on a disk filesystem")
    probe.unlink()


async def _write(backend: LocalBackend, key: str, size: int, *, commit: bool = True, payload: bytes = b""):
    writer = await backend.open_writer(key, f".{key}.tmp")
    payload = payload or os.urandom(size)
    for offset in range(0, size, MIB):
        await writer.write(payload[offset : offset + MIB])
    if commit:
        await writer.commit()
    return writer


async def test_a_large_durable_file_leaves_the_cache_and_reads_back_whole(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path, keep_cache_bytes=2 * MIB, sync_every_bytes=0)
    payload = os.urandom(6 * MIB)
    await _write(backend, "big", 6 * MIB, payload=payload)
    assert resident_bytes(tmp_path / "big") == 0
    assert b"".join([c async for c in backend.read_range("big")]) == payload


async def test_a_small_file_stays_cached(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path, keep_cache_bytes=2 * MIB, sync_every_bytes=0)
    await _write(backend, "small", 2 * MIB)  # not larger than keep_cache_bytes
    assert resident_bytes(tmp_path / "small") == 2 * MIB


async def test_keep_every_file_and_no_fsync_keep_the_pages(tmp_path: Path) -> None:
    keep = LocalBackend(tmp_path / "keep", keep_cache_bytes=-1)
    await _write(keep, "big", 6 * MIB)
    assert resident_bytes(tmp_path / "keep" / "big") == 6 * MIB
    # Without fsync the pages are dirty at commit: there is nothing clean to drop.
    unsynced = LocalBackend(tmp_path / "unsynced", fsync=False, keep_cache_bytes=0, sync_every_bytes=MIB)
    await _write(unsynced, "big", 6 * MIB)
    assert not unsynced.drops_cache(6 * MIB)
    assert resident_bytes(tmp_path / "unsynced" / "big") == 6 * MIB


async def test_a_file_being_written_holds_at_most_one_stretch_in_the_cache(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path, keep_cache_bytes=0, sync_every_bytes=2 * MIB)
    writer = await _write(backend, "big", 9 * MIB, commit=False)
    # 8 MiB synced and dropped in four stretches; the ninth MiB is still dirty in the cache.
    assert writer.synced == 8 * MIB
    assert resident_bytes(tmp_path / ".big.tmp") <= 2 * MIB
    assert not (tmp_path / "big").exists()  # a sync while writing is not a commit
    await writer.commit()
    assert resident_bytes(tmp_path / "big") == 0
    assert (tmp_path / "big").stat().st_size == 9 * MIB


async def test_abort_after_partial_syncs_leaves_nothing(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path, keep_cache_bytes=0, sync_every_bytes=MIB)
    writer = await _write(backend, "big", 3 * MIB, commit=False)
    await writer.abort()
    assert list(tmp_path.iterdir()) == []
