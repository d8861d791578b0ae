"""Local filesystem backend: temp file, fsync, rename, directory fsync.

Every blocking call runs in a worker thread (``anyio.to_thread``); data moves in 1 MiB
chunks so the thread hops stay cheap.
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

    def _open(self) -> None:
        self.temp.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.temp, "wb")  # noqa: SIM115 (closed in commit/abort)

    async def write(self, chunk: bytes) -> None:
        await anyio.to_thread.run_sync(self._write, chunk)

    def _write(self, chunk: bytes) -> None:
        if self.file is None:
            self._open()
        self.file.write(chunk)  # type: ignore[union-attr]

    def _commit(self) -> None:
        if self.file is None:
            self._open()
        if self.file is None:
            raise RuntimeError("temp file not open")
        self.file.flush()
        if self.backend.fsync:
            os.fsync(self.file.fileno())  # the bytes are on disk before the name points at them
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

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        root.mkdir(parents=True, exist_ok=True)

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
