"""Local filesystem backend: temp file, fsync, rename, directory fsync.

Every blocking call runs in a worker thread (``anyio.to_thread``); data moves in 1 MiB
chunks so the thread hops stay cheap.

A large file is archive data that is rarely read soon after it is written, so once it
is durable its pages leave the page cache (``posix_fadvise(POSIX_FADV_DONTNEED)``) instead
of crowding out what readers use; while it is being written, every ``sync_every_bytes``
the part written so far is made durable and dropped too, so a file never holds more
than that much dirty memory (ADR 0009).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread

from storage_element.storage.backends.base import CHUNK
from storage_element.storage.crash import crash_step

# Linux has both; where either is missing (macOS) the policy is off and writes sync at commit.
_CAN_DROP = hasattr(os, "posix_fadvise") and hasattr(os, "fdatasync")
KEEP_CACHE_BYTES = 8 * 1024 * 1024  # default: larger durable files leave the page cache
SYNC_EVERY_BYTES = 64 * 1024 * 1024  # default: a large write is made durable in stretches of this


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def small_temp_name(name: str) -> str:
    """The temp name of a small object; one writer per key (the per-file lock) makes it unique."""
    return f".{name}.tmp"


class _LocalWriter:
    def __init__(self, backend: LocalBackend, key: str, temp_key: str) -> None:
        self.backend = backend
        self.final = backend.path(key)
        self.temp = backend.path(temp_key)
        self.file: BinaryIO | None = None
        self.written = 0  # bytes handed to the file
        self.synced = 0  # bytes made durable (and dropped from the cache) while writing

    def _open(self) -> None:
        self.temp.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.temp, "wb")  # noqa: SIM115 (closed in commit/abort)

    async def write(self, chunk: bytes) -> None:
        await anyio.to_thread.run_sync(self._write, chunk)

    def _write(self, chunk: bytes) -> None:
        if self.file is None:
            self._open()
        self.file.write(chunk)  # type: ignore[union-attr]
        self.written += len(chunk)
        every = self.backend.sync_every_bytes
        if every and _CAN_DROP and self.backend.fsync and self.written - self.synced >= every:
            self._sync_written()

    def _sync_written(self) -> None:
        """Make the bytes written so far durable and, for a large file, drop them from the cache.

        Not a commit point (the temp name still hides the file); it bounds the dirty pages
        a large upload holds and spreads its writeback over the transfer.
        """
        if self.file is None:
            raise RuntimeError("temp file not open")
        self.file.flush()
        fd = self.file.fileno()
        os.fdatasync(fd)
        if self.backend.drops_cache(self.written):
            os.posix_fadvise(fd, self.synced, self.written - self.synced, os.POSIX_FADV_DONTNEED)
        self.synced = self.written

    def _commit(self) -> None:
        if self.file is None:
            self._open()
        if self.file is None:
            raise RuntimeError("temp file not open")
        self.file.flush()
        if self.backend.fsync:
            os.fsync(self.file.fileno())  # the bytes are on disk before the name points at them
            if self.backend.drops_cache(self.written):
                # Clean pages now, so they can go; a reader reads them back from the disk.
                os.posix_fadvise(self.file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        self.file.close()
        os.replace(self.temp, self.final)
        if self.backend.fsync:
            _fsync_dir(self.final.parent)  # the rename itself is durable

    async def commit(self) -> None:
        await anyio.to_thread.run_sync(self._commit)

    def _abort(self) -> None:
        if self.file is not None:
            self.file.close()
        self.temp.unlink(missing_ok=True)

    async def abort(self) -> None:
        await anyio.to_thread.run_sync(self._abort)


class _RangeReader:
    """Blocking half of ``LocalBackend.read_range``: each call runs in a worker thread."""

    def __init__(self, path: Path, start: int, length: int | None) -> None:
        self.path, self.offset, self.remaining = path, start, length
        self.fd: int | None = None

    def next(self) -> bytes:
        if self.remaining is not None and self.remaining <= 0:
            self.close()
            return b""
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDONLY)
        n = CHUNK if self.remaining is None else min(CHUNK, self.remaining)
        chunk = os.pread(self.fd, n, self.offset)
        self.offset += len(chunk)
        if self.remaining is not None:
            self.remaining -= len(chunk)
        if len(chunk) < n or self.remaining == 0:
            self.close()  # the last piece: no extra hop to close
        return chunk

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class LocalBackend:
    kind = "local"

    def __init__(
        self,
        root: Path,
        *,
        fsync: bool = True,
        keep_cache_bytes: int = KEEP_CACHE_BYTES,
        sync_every_bytes: int = SYNC_EVERY_BYTES,
    ) -> None:
        """``keep_cache_bytes``: a durably written file larger than this leaves the page cache
        (-1 keeps every file cached). ``sync_every_bytes``: while writing, make each such
        stretch durable (0 = only at commit). Both apply only with ``fsync`` on: without it
        nothing is clean to drop."""
        self.root = root
        self.fsync = fsync
        self.keep_cache_bytes = keep_cache_bytes
        self.sync_every_bytes = sync_every_bytes
        root.mkdir(parents=True, exist_ok=True)

    def drops_cache(self, size: int) -> bool:
        """Whether a durable file of ``size`` bytes (so far) leaves the page cache."""
        return _CAN_DROP and self.fsync and self.keep_cache_bytes >= 0 and size > self.keep_cache_bytes

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad storage key {key!r}")
        return self.root.joinpath(*parts)

    async def open_writer(self, key: str, temp_key: str) -> _LocalWriter:
        return _LocalWriter(self, key, temp_key)

    def _put_small(self, key: str, data: bytes) -> None:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(small_temp_name(final.name))
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        crash_step("sidecar_temp")  # the temp is complete, the final name still the old one
        os.replace(temp, final)
        if self.fsync:
            _fsync_dir(final.parent)

    async def put_small(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._put_small, key, data)

    def _read_small(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    async def read_small(self, key: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._read_small, key)

    def _size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def size(self, key: str) -> int | None:
        return await anyio.to_thread.run_sync(self._size, key)

    async def read_range(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """``length`` bytes from ``start`` in 1 MiB pieces, one thread hop per piece.

        ``os.pread`` needs no seek and no shared file position; the file is opened with
        the first piece and closed with the last, so a small file costs a single hop.
        """
        reader = _RangeReader(self.path(key), start, length)
        try:
            while True:
                chunk = await anyio.to_thread.run_sync(reader.next)
                if not chunk:
                    return
                yield chunk
        finally:
            if reader.fd is not None:
                await anyio.to_thread.run_sync(reader.close)

    def _delete(self, key: str) -> None:
        path = self.path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        if self.fsync:
            _fsync_dir(path.parent)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, key)

    def _rename(self, src: str, dst: str) -> None:
        target = self.path(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path(src), target)
        if self.fsync:
            _fsync_dir(target.parent)
            _fsync_dir(self.path(src).parent)

    async def rename(self, src: str, dst: str) -> None:
        await anyio.to_thread.run_sync(self._rename, src, dst)

    def _walk(self, prefix: str) -> list[str]:
        out = []
        for dirpath, _dirs, files in os.walk(self.root):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    out.append(key)
        return sorted(out)

    async def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        for key in await anyio.to_thread.run_sync(self._walk, prefix):
            yield key

    async def free_bytes(self) -> int | None:
        usage = await anyio.to_thread.run_sync(shutil.disk_usage, self.root)
        return usage.free
