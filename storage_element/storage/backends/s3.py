"""S3 backend (minio client): streamed uploads, multipart above one part, never a whole
object in memory.

minio's client is synchronous, so each call runs in a worker thread. An upload is one
``put_object`` with unknown length running in a thread that pulls chunks from a bounded
queue: memory stays at about one part (``PART_SIZE``) plus the queue. S3 has no rename:
the data object is written first and the sidecar object last (ARCHITECTURE.md), so a data
object without a sidecar is garbage that recovery removes.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, BinaryIO, cast

import anyio
import anyio.to_thread
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from storage_element.storage.backends.base import CHUNK

PART_SIZE = 8 * 1024 * 1024
_END = object()


class _Aborted(Exception):
    pass


class _QueueReader(io.RawIOBase):
    """A file-like object minio reads from; the async side feeds it chunk by chunk."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=4)
        self.pending = b""
        self.done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while (size < 0 or len(out) < size) and not self.done:
            if not self.pending:
                item = self.queue.get()
                if item is _END:
                    self.done = True
                    break
                if isinstance(item, BaseException):
                    raise item
                self.pending = item
            take = len(self.pending) if size < 0 else size - len(out)
            out += self.pending[:take]
            self.pending = self.pending[take:]
        return bytes(out)


class _S3Writer:
    def __init__(self, backend: S3Backend, key: str) -> None:
        self.backend, self.key = backend, key
        self.reader = _QueueReader()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.backend.client.put_object(
                self.backend.bucket,
                self.backend.full(self.key),
                cast(BinaryIO, self.reader),
                length=-1,
                part_size=PART_SIZE,
            )
        except BaseException as exc:  # reported to the async side in commit/abort
            self.error = exc

    async def write(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        await anyio.to_thread.run_sync(self.reader.queue.put, chunk)

    async def commit(self) -> None:
        await anyio.to_thread.run_sync(self.reader.queue.put, _END)
        await anyio.to_thread.run_sync(self.thread.join)
        if self.error is not None:
            raise self.error

    async def abort(self) -> None:
        if self.thread.is_alive():
            # minio aborts the multipart upload when reading the body raises.
            await anyio.to_thread.run_sync(self.reader.queue.put, _Aborted("upload aborted"))
            await anyio.to_thread.run_sync(self.thread.join)
        await self.backend.delete(self.key)


class S3Backend:
    kind = "s3"

    def __init__(
        self, endpoint: str, access_key: str, secret_key: str, bucket: str, *, secure: bool, prefix: str = ""
    ) -> None:
        host = endpoint.split("://", 1)[-1].rstrip("/")
        self.client = Minio(host, access_key=access_key, secret_key=secret_key, secure=secure)
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def full(self, key: str) -> str:
        return self.prefix + key

    async def ensure_bucket(self) -> None:
        def ensure() -> None:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)

        await anyio.to_thread.run_sync(ensure)

    async def open_writer(self, key: str, temp_key: str) -> _S3Writer:
        return _S3Writer(self, key)

    async def put_small(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.put_object(self.bucket, self.full(key), io.BytesIO(data), len(data))
        )

    def _get(self, key: str, offset: int = 0, length: int = 0) -> Any:
        try:
            return self.client.get_object(self.bucket, self.full(key), offset=offset, length=length)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise FileNotFoundError(key) from exc
            raise

    async def read_small(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                response = self._get(key)
            except FileNotFoundError:
                return None
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await anyio.to_thread.run_sync(read)

    async def size(self, key: str) -> int | None:
        def stat() -> int | None:
            try:
                return int(self.client.stat_object(self.bucket, self.full(key)).size or 0)
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                    return None
                raise

        return await anyio.to_thread.run_sync(stat)

    async def read_range(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        if length == 0:
            return
        response = await anyio.to_thread.run_sync(self._get, key, start, length or 0)
        try:
            stream = response.stream(CHUNK)
            while True:
                chunk = await anyio.to_thread.run_sync(next, stream, None)
                if chunk is None:
                    break
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self.client.remove_object, self.bucket, self.full(key))

    async def rename(self, src: str, dst: str) -> None:
        def move() -> None:
            self.client.copy_object(self.bucket, self.full(dst), CopySource(self.bucket, self.full(src)))
            self.client.remove_object(self.bucket, self.full(src))

        await anyio.to_thread.run_sync(move)

    async def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        def listing() -> list[str]:
            objects = self.client.list_objects(self.bucket, prefix=self.full(prefix), recursive=True)
            return sorted(str(o.object_name)[len(self.prefix) :] for o in objects)

        for key in await anyio.to_thread.run_sync(listing):
            yield key

    async def free_bytes(self) -> int | None:
        return None
