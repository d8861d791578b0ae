"""The backend Protocol: what the write protocol needs from a place that keeps bytes.

Keys are ``/``-separated paths relative to the SE root. A data object is written through
a :class:`DataWriter` (streamed; durable and visible under its key only after
``commit``); sidecars are small objects written atomically with :meth:`put_small`.
Every implementation passes the contract suite in tests/storage_element/test_backends.py.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

CHUNK = 1024 * 1024


class DataWriter(Protocol):
    async def write(self, chunk: bytes) -> None: ...

    async def commit(self) -> None:
        """Make the object durable and visible under its key (local: fsync, rename, dir fsync)."""

    async def abort(self) -> None:
        """Discard everything written; idempotent."""


class Backend(Protocol):
    kind: str

    async def open_writer(self, key: str, temp_key: str) -> DataWriter: ...

    async def put_small(self, key: str, data: bytes) -> None:
        """Atomically replace ``key`` with ``data``, durably (the sidecar commit point)."""

    async def read_small(self, key: str) -> bytes | None: ...

    async def size(self, key: str) -> int | None: ...

    def read_range(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]: ...

    async def delete(self, key: str) -> None:
        """Remove ``key`` durably; a missing key is not an error."""

    async def rename(self, src: str, dst: str) -> None: ...

    def list_keys(self, prefix: str = "") -> AsyncIterator[str]: ...

    async def free_bytes(self) -> int | None:
        """Free space of the medium, or None when the medium has no such notion (S3)."""
