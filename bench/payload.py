"""Incompressible request bodies without holding a whole large file in memory.

Bodies are slices of one random pool (64 MiB, larger than any compressor's window), taken
at an offset that moves with each chunk, so no two chunks of a file are equal.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

POOL_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024
_pool: bytes | None = None


def pool() -> bytes:
    global _pool
    if _pool is None:
        _pool = os.urandom(POOL_BYTES + CHUNK)
    return _pool


def small(size: int, seed: int) -> bytes:
    """A body of ``size`` bytes, different for each seed."""
    start = (seed * 7919 + 13) % (POOL_BYTES - size)
    return pool()[start : start + size]


async def stream(size: int, seed: int = 0) -> AsyncIterator[bytes]:
    """``size`` bytes in 1 MiB chunks (memoryviews of the pool: no copy here)."""
    data = memoryview(pool())
    sent, index = 0, seed
    while sent < size:
        take = min(CHUNK, size - sent)
        start = (index * 104_729) % POOL_BYTES
        yield data[start : start + take]  # type: ignore[misc]
        sent += take
        index += 1
