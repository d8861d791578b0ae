"""The write protocol of an upload (ARCHITECTURE.md section 3), in this order:

1. reserve capacity (507 before a byte of the body is read);
2. WAL intent with the temp, data and sidecar keys and the audit event, fsynced: recovery
   knows what to undo, or what to audit when it finishes the upload (storage/events.py);
3. stream the body to a temp file, sha256 on the way, check length and checksum, fsync
   (with compression on, the bytes are compressed on their way to the temp file; the sha256
   and size are those of the original bytes: storage/codec.py);
4. rename the temp file to the data key (local) / complete the multipart upload (S3);
5. write the sidecar (temp, fsync, rename, directory fsync): **the commit point**;
6. WAL ``committed``: from here recovery rolls forward instead of back;
7. index row + change-feed entry + audit event in one Postgres transaction;
8. publish the change notification (best effort: the feed is the truth).

Crash points (``ARTSTORE_SE_CRASH_AT``) and the recovery of each:

===============================  ============================================================
``put_after_wal_intent``         nothing written: the record is aborted
``put_mid_stream``               temp file partly written: temp removed, record aborted
``put_before_data_rename``       temp complete and fsynced: temp removed, record aborted
``put_after_data_rename``        data without sidecar (garbage): data removed, record aborted
``put_sidecar_temp``             the same, plus a complete temp sidecar: both removed
``put_after_sidecar``            committed by the sidecar: rolled forward (indexed)
``put_after_wal_commit``         committed, not indexed: indexed
``put_after_index``              indexed, response lost: nothing to do; a retry answers 200
``update_after_wal_intent``      sidecar unchanged: the index is refreshed from it
``update_sidecar_temp``          the same, plus the new sidecar as a temp: removed
``update_after_sidecar``         new sidecar in place: rolled forward (indexed)
``update_after_wal_commit``      the same
``update_after_index``           nothing to do
``delete_after_wal_intent``      sidecar present: the delete never happened (aborted)
``delete_after_sidecar``         sidecar gone (commit point): data removed, index row deleted
``delete_after_data``            the same
``delete_after_wal_commit``      the same
``delete_after_index``           nothing to do
``quarantine_after_wal_intent``  bytes in place, sidecar unchanged: nothing quarantined
``quarantine_after_data_move``   bytes moved aside: the sidecar is marked corrupt, indexed
``quarantine_sidecar_temp``      the same, plus the corrupt sidecar as a temp: removed
``quarantine_after_sidecar``     marked corrupt: indexed
``quarantine_after_wal_commit``  the same
``quarantine_after_index``       nothing to do
===============================  ============================================================

``<path>_sidecar_temp`` is the local backend's sidecar temp file, fsynced and not yet
renamed (:func:`storage_element.storage.crash.crash_step`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread

from shared.auth import Principal
from storage_element.errors import ChecksumMismatch, FileExists, LengthMismatch, ModeForbids, TooLarge
from storage_element.mode.rules import ALLOWED
from storage_element.storage import codec
from storage_element.storage.backends.base import CHUNK, DataWriter
from storage_element.storage.crash import crash_path, crash_point
from storage_element.storage.events import finished_event, intent_event
from storage_element.storage.layout import data_key, sidecar_key, storage_name, temp_key
from storage_element.storage.sidecar import Sidecar, utcnow
from storage_element.storage.store import Store


class Body:
    """The request body with its declared bounds."""

    def __init__(
        self, chunks: AsyncIterator[bytes], *, length: int | None, limit: int, expected_sha256: str | None
    ) -> None:
        self.chunks, self.length, self.limit = chunks, length, limit
        self.expected_sha256 = expected_sha256.lower() if expected_sha256 else None

    async def pump(self, sink: DataWriter | None) -> tuple[int, str]:
        """Stream to ``sink`` (or only hash), in 1 MiB pieces; returns (size, sha256).

        Pipelined: while piece N is hashed and written (two worker threads at once: both
        release the GIL), piece N+1 is being received. At most two pieces are in memory."""
        hasher = hashlib.sha256()
        size, parts, buffered, first = 0, list[bytes](), 0, True
        previous: asyncio.Future[Any] | None = None

        async def store(data: bytes) -> None:
            nonlocal first
            if sink is None:
                await anyio.to_thread.run_sync(hasher.update, data)
                return
            await asyncio.gather(anyio.to_thread.run_sync(hasher.update, data), sink.write(data))
            if first:
                first = False
                crash_point("put_mid_stream")

        async def flush() -> None:
            nonlocal parts, buffered, previous
            if previous is not None:
                await previous  # pieces are hashed and written in order
            previous = asyncio.ensure_future(store(b"".join(parts)))  # the only copy
            parts, buffered = [], 0

        try:
            async for chunk in self.chunks:
                size += len(chunk)
                if self.length is not None and size > self.length:
                    raise LengthMismatch(f"body is longer than Content-Length {self.length}")
                if size > self.limit:
                    raise TooLarge(f"body is larger than the {self.limit} bytes reserved")
                parts.append(chunk)
                buffered += len(chunk)
                if buffered >= CHUNK:
                    await flush()
            if parts:
                await flush()
            if previous is not None:
                await previous
        finally:
            if previous is not None:
                # The body failed (client gone, too long): let the piece in flight finish
                # before the caller aborts the writer, so no thread writes after the abort
                # (on success it is finished already and this returns at once).
                with anyio.CancelScope(shield=True):
                    await asyncio.gather(previous, return_exceptions=True)
        if self.length is not None and size != self.length:
            raise LengthMismatch(f"body has {size} bytes, Content-Length said {self.length}")
        digest = hasher.hexdigest()
        if self.expected_sha256 and not hmac.compare_digest(digest, self.expected_sha256):
            raise ChecksumMismatch(f"body sha256 is {digest}")
        return size, digest


async def put(
    store: Store, *, fields: dict[str, Any], body: Body, reserve: int, actor: Principal | None = None
) -> tuple[Sidecar, bool]:
    """Store a new file; returns (sidecar, created). ``fields`` are the sidecar's attributes."""
    file_id = str(fields["file_id"])
    async with store.file_lock(file_id):
        await _finish_unindexed(store, file_id)
        existing = await store.find(file_id)
        if existing is not None:
            return await _retry(existing, body), False
        if "create" not in ALLOWED[store.mode.current]:
            raise ModeForbids(f"mode {store.mode.current} does not accept uploads")
        reservation = await store.capacity.reserve(reserve)
        committed = 0
        try:
            sidecar = await _write(store, fields, body, actor)
            committed = sidecar.stored_size
        finally:
            store.capacity.release(reservation, committed=committed)
        return sidecar, True


async def _finish_unindexed(store: Store, file_id: str) -> None:
    pending = store.unindexed.get(file_id)
    if pending is None:
        return
    rec, sidecar = pending
    await store.index_change("upsert", file_id, sidecar, audit=finished_event(rec, sidecar))
    store.unindexed.pop(file_id, None)
    await store.wal.done(rec)


async def _retry(existing: Sidecar, body: Body) -> Sidecar:
    size, digest = await body.pump(None)
    if size != existing.size or not hmac.compare_digest(digest, existing.sha256):
        raise FileExists(f"file {existing.file_id} exists with other content")
    return existing


async def _write(store: Store, fields: dict[str, Any], body: Body, actor: Principal | None) -> Sidecar:
    now = utcnow()
    file_id = str(fields["file_id"])
    name = storage_name(str(fields["original_filename"]), file_id)
    key = data_key(now, name)
    keys = {"data": key, "temp": temp_key(key), "sidecar": sidecar_key(key)}
    event = intent_event("file.upload", file_id, actor=actor, details={"se_id": store.se_id})
    rec = await store.wal.intent("put", file_id, keys, audit=event)  # 2: fsynced before any byte
    crash_point("put_after_wal_intent")
    writer = await store.backend.open_writer(key, keys["temp"])
    settings = store.settings
    encoding = codec.choose(
        compression=settings.compression,
        patterns=settings.compression_content_types,
        min_bytes=settings.compression_min_bytes,
        content_type=str(fields.get("content_type") or ""),
        length=body.length,
    )
    sink = writer if encoding is None else codec.CompressingWriter(writer, encoding)
    try:
        size, digest = await body.pump(sink)  # 3: hashed (original bytes) while streaming
        crash_point("put_before_data_rename")
        await sink.commit()  # 3-4: (compressor flush,) fsync, rename, directory fsync
        crash_point("put_after_data_rename")
        stored = (
            {}
            if not isinstance(sink, codec.CompressingWriter)
            else {"encoding": {"name": sink.name, "stored_size": sink.stored_size}}
        )
        sidecar = Sidecar.model_validate(
            {
                "created_at": now,
                "updated_at": now,
                **fields,
                "storage_name": name,
                "path": key,
                "size": size,
                "sha256": digest,
                **stored,
            }
        )
        with crash_path("put"):
            await store.backend.put_small(keys["sidecar"], sidecar.dump())  # 5: the commit point
    except BaseException:
        # Not acknowledged: undo everything, even when the request is being cancelled
        # (a client that went away); what cannot be undone now, recovery undoes.
        with anyio.CancelScope(shield=True):
            await writer.abort()
            await store.backend.delete(keys["sidecar"])
            await store.backend.delete(key)
            await store.wal.aborted(rec)
        raise
    crash_point("put_after_sidecar")
    await store.wal.committed(rec)  # 6
    crash_point("put_after_wal_commit")
    try:
        await store.index_change("upsert", file_id, sidecar, audit=finished_event(rec, sidecar))  # 7, 8
    except Exception:
        store.unindexed[file_id] = (rec, sidecar)  # committed: never rolled back from here
        raise
    crash_point("put_after_index")
    await store.wal.done(rec)
    return sidecar
