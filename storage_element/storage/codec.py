"""Compression as an internal encoding of the stored bytes (off by default).

Size, sha256, ETag and Range always describe the original bytes; the sidecar's
``encoding`` (``{"name", "stored_size"}``) says how the data object is stored.

Writing: :class:`CompressingWriter` wraps the backend's :class:`DataWriter` inside step 3 of
the write protocol (stream to the temp file); the caller still hashes the original bytes.
Reading: :func:`read_original` decompresses while streaming and serves any byte range of
the original by decoding from the start, discarding up to ``start`` and stopping after the
end. The decoders are pull readers (``zstandard`` stream reader, ``gzip.GzipFile``) whose
``read(n)`` never returns more than ``n`` bytes, so memory stays at about one chunk however
well the data compressed; they run in worker threads and pull the stored bytes from the
backend's async iterator through ``anyio.from_thread``.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, BinaryIO, Literal, cast

import anyio
import anyio.from_thread
import anyio.to_thread
import zstandard

from storage_element.storage.backends.base import CHUNK, Backend, DataWriter

EncodingName = Literal["zstd", "gzip"]
ZSTD_LEVEL = 3
GZIP_LEVEL = 6


class DecodeError(Exception):
    """The stored bytes do not decode (corruption)."""


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def choose(
    *, compression: str, patterns: list[str], min_bytes: int, content_type: str, length: int | None
) -> EncodingName | None:
    """The encoding of a new upload: None = stored as is.

    A body of unknown length (no Content-Length) is compressed when its type matches.
    """
    if compression == "none":
        return None
    if length is not None and length < min_bytes:
        return None
    kind = media_type(content_type)
    if not any(fnmatch.fnmatchcase(kind, p.strip().lower()) for p in patterns):
        return None
    return cast(EncodingName, compression)


def _compressor(name: EncodingName) -> Any:
    if name == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True).compressobj()
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # wbits 31: the gzip container


class CompressingWriter:
    """A :class:`DataWriter` that compresses into another one; counts the stored bytes."""

    def __init__(self, inner: DataWriter, name: EncodingName) -> None:
        self.inner, self.name = inner, name
        self.compressor = _compressor(name)
        self.stored_size = 0

    async def write(self, chunk: bytes) -> None:
        out: bytes = await anyio.to_thread.run_sync(self.compressor.compress, chunk)
        if out:
            self.stored_size += len(out)
            await self.inner.write(out)

    async def commit(self) -> None:
        tail: bytes = await anyio.to_thread.run_sync(self.compressor.flush)
        if tail:
            self.stored_size += len(tail)
            await self.inner.write(tail)
        await self.inner.commit()

    async def abort(self) -> None:
        await self.inner.abort()


class _Pull(io.RawIOBase):
    """A blocking file object over an async chunk iterator; read only from worker threads."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        super().__init__()
        self.chunks = chunks
        self.pending = b""
        self.eof = False

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes | None:
        try:
            return await self.chunks.__anext__()
        except StopAsyncIteration:
            return None

    def read(self, size: int = -1) -> bytes:
        while not self.pending and not self.eof:
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self.eof = True
            else:
                self.pending = chunk
        if size < 0 or size >= len(self.pending):
            out, self.pending = self.pending, b""
        else:
            out, self.pending = self.pending[:size], self.pending[size:]
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _decoder(name: str, source: _Pull) -> Callable[[int], bytes]:
    if name == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(cast(BinaryIO, source), read_size=CHUNK)
        return cast(Callable[[int], bytes], reader.read)
    if name == "gzip":
        return gzip.GzipFile(fileobj=cast(BinaryIO, source), mode="rb").read
    raise DecodeError(f"unknown encoding {name!r}")


async def read_original(
    backend: Backend, key: str, name: str, start: int = 0, length: int | None = None
) -> AsyncGenerator[bytes, None]:
    """Bytes ``[start, start + length)`` of the original content of an encoded object.

    Raises :class:`DecodeError` when the stored bytes do not decode.
    """
    chunks = backend.read_range(key)
    try:
        read = _decoder(name, _Pull(chunks))
        skip, remaining = start, length
        while remaining is None or remaining > 0:
            try:
                data: bytes = await anyio.to_thread.run_sync(read, CHUNK)
            except (zstandard.ZstdError, zlib.error, OSError, EOFError) as exc:
                raise DecodeError(f"{key} does not decode as {name}: {exc}") from exc
            if not data:
                break
            if skip:
                if len(data) <= skip:
                    skip -= len(data)
                    continue
                data, skip = data[skip:], 0
            if remaining is not None:
                data = data[:remaining]
                remaining -= len(data)
            yield data
    finally:
        await chunks.aclose()
