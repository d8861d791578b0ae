"""One contract, three backends: memory, local disk and S3 (a real SeaweedFS)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage_element.storage.backends.base import Backend
from storage_element.storage.backends.local import LocalBackend
from storage_element.storage.backends.memory import MemoryBackend
from storage_element.storage.backends.s3 import PART_SIZE, S3Backend
from tests.support import servers

# start_seaweedfs hands the log file to the child and drops its own handle (ResourceWarning).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(params=["memory", "local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
    elif request.param == "local":
        yield LocalBackend(tmp_path / "root")
    else:
        server = request.getfixturevalue("seaweedfs")
        s3 = S3Backend(
            server.url,
            servers.S3_ACCESS_KEY,
            servers.S3_SECRET_KEY,
            f"b{uuid.uuid4().hex[:12]}",
            secure=False,
            prefix="se-1",
        )
        await s3.ensure_bucket()
        yield s3


async def _read(backend: Backend, key: str, start: int = 0, length: int | None = None) -> bytes:
    return b"".join([c async for c in backend.read_range(key, start, length)])


async def _write(backend: Backend, key: str, chunks: list[bytes]) -> None:
    writer = await backend.open_writer(key, key.rsplit("/", 1)[0] + "/.tmp-" + uuid.uuid4().hex)
    for chunk in chunks:
        await writer.write(chunk)
    await writer.commit()


async def test_write_commit_read(backend: Backend) -> None:
    await _write(backend, "2026/01/02/03/a_1.txt", [b"hello ", b"world"])
    assert await _read(backend, "2026/01/02/03/a_1.txt") == b"hello world"
    assert await backend.size("2026/01/02/03/a_1.txt") == 11
    assert await _read(backend, "2026/01/02/03/a_1.txt", 6, 3) == b"wor"
    assert await _read(backend, "2026/01/02/03/a_1.txt", 6) == b"world"


async def test_zero_byte_object(backend: Backend) -> None:
    await _write(backend, "z/empty", [])
    assert await backend.size("z/empty") == 0
    assert await _read(backend, "z/empty") == b""


async def test_nothing_visible_before_commit_and_abort_leaves_nothing(backend: Backend) -> None:
    writer = await backend.open_writer("x/data", "x/.data.tmp")
    await writer.write(b"partial")
    assert await backend.size("x/data") is None
    await writer.abort()
    assert await backend.size("x/data") is None
    assert [k async for k in backend.list_keys()] == []


async def test_small_objects_replace_atomically(backend: Backend) -> None:
    await backend.put_small("d/f.attr.json", b'{"v":1}')
    await backend.put_small("d/f.attr.json", b'{"v":2}')
    assert await backend.read_small("d/f.attr.json") == b'{"v":2}'
    assert await backend.read_small("d/missing") is None
    assert [k async for k in backend.list_keys()] == ["d/f.attr.json"]


async def test_delete_is_idempotent_and_rename_moves(backend: Backend) -> None:
    await backend.put_small("a/b", b"1")
    await backend.rename("a/b", ".quarantine/a/b")
    assert await backend.read_small("a/b") is None
    assert await backend.read_small(".quarantine/a/b") == b"1"
    await backend.delete(".quarantine/a/b")
    await backend.delete(".quarantine/a/b")
    assert [k async for k in backend.list_keys()] == []


async def test_list_keys_sorted_with_prefix(backend: Backend) -> None:
    for key in ("2026/02/x", "2026/01/y", "2025/12/z"):
        await backend.put_small(key, b".")
    assert [k async for k in backend.list_keys()] == ["2025/12/z", "2026/01/y", "2026/02/x"]
    assert [k async for k in backend.list_keys("2026/")] == ["2026/01/y", "2026/02/x"]


async def test_missing_object_read_raises(backend: Backend) -> None:
    with pytest.raises(FileNotFoundError):
        await _read(backend, "no/such")


async def test_large_object_streams_in_parts(backend: Backend) -> None:
    """Bigger than one S3 part: a multipart upload there, chunked everywhere."""
    chunk = os.urandom(1024 * 1024)
    chunks = [chunk] * (PART_SIZE // len(chunk) + 2)
    await _write(backend, "big/object", chunks)
    assert await backend.size("big/object") == len(chunk) * len(chunks)
    digest = hashlib.sha256()
    async for piece in backend.read_range("big/object"):
        assert len(piece) <= 1024 * 1024
        digest.update(piece)
    assert digest.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()
