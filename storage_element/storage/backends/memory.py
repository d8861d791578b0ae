"""An in-memory backend with the same contract as the others (unit tests)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from storage_element.storage.backends.base import CHUNK


class _MemoryWriter:
    def __init__(self, store: MemoryBackend, key: str) -> None:
        self.store, self.key, self.buffer = store, key, bytearray()

    async def write(self, chunk: bytes) -> None:
        self.buffer += chunk

    async def commit(self) -> None:
        self.store.objects[self.key] = bytes(self.buffer)

    async def abort(self) -> None:
        self.buffer = bytearray()


class MemoryBackend:
    kind = "memory"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def open_writer(self, key: str, temp_key: str) -> _MemoryWriter:
        return _MemoryWriter(self, key)

    async def put_small(self, key: str, data: bytes) -> None:
        self.objects[key] = bytes(data)

    async def read_small(self, key: str) -> bytes | None:
        return self.objects.get(key)

    async def size(self, key: str) -> int | None:
        data = self.objects.get(key)
        return None if data is None else len(data)

    async def read_range(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        data = self.objects.get(key)
        if data is None:
            raise FileNotFoundError(key)
        end = len(data) if length is None else min(len(data), start + length)
        for offset in range(start, end, CHUNK):
            yield data[offset : min(end, offset + CHUNK)]

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    async def rename(self, src: str, dst: str) -> None:
        self.objects[dst] = self.objects.pop(src)

    async def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield key

    async def free_bytes(self) -> int | None:
        return None
