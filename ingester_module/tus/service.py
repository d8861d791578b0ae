"""tus 1.0 (core, creation, creation-with-upload, termination, checksum, expiration).

tuspyserver was evaluated and not used: it has no checksum extension and no way to make
the final PATCH wait for the storage element's commit and answer with the file id.

Chunks are appended to the staging directory (``TusStore``). When the last byte arrives,
the staged file is streamed to a storage element (same placement as every upload) before
the final PATCH answers, with ``ArtStore-File-Id``. Each upload gets its file id at
creation, so a completion repeated after a crash re-sends the same file, which the SE
accepts idempotently.

When that commit fails (no SE can take the file, the ingester dies during it), the final
PATCH answers the error and the upload reports ``Upload-Offset`` one byte short of its
length until an SE has committed it: a client resuming with HEAD sends the last byte
again, and that PATCH retries the commit. A client that knows it sent everything may
instead send an empty PATCH at the full length, which also retries it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from ingester_module.tus.store import Locked, TusStore, UploadState
from ingester_module.uploads import service as uploads
from ingester_module.uploads.schemas import UploadFields, check_filename, parse_fields
from shared.auth import Principal
from shared.errors import ArtStoreError

log = logging.getLogger("artstore.ingester.tus")

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
OFFSET_TYPE = "application/offset+octet-stream"
WRITE_BUFFER = 1024 * 1024
FIELD_KEYS = ("description", "tags", "metadata", "retention_policy", "ttl_days", "retain_until")


class TusError(ArtStoreError):
    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, headers={"Tus-Resumable": VERSION}, **extra)


class UnsupportedVersion(TusError):
    status, code, title = 412, "tus_version", "Unsupported tus version"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers["Tus-Version"] = VERSION


class BadTusRequest(TusError):
    status, code, title = 400, "tus_bad_request", "Bad tus request"


class WrongContentType(TusError):
    status, code, title = 415, "unsupported_media_type", f"PATCH bodies must be {OFFSET_TYPE}"


class OffsetConflict(TusError):
    status, code, title = 409, "offset_mismatch", "Upload-Offset does not match the upload"


class UploadLocked(TusError):
    status, code, title = 423, "upload_locked", "Another request is writing to this upload"


class ChecksumMismatch(TusError):
    status, code, title = 460, "checksum_mismatch", "Checksum mismatch"


class UploadGone(TusError):
    status, code, title = 410, "upload_expired", "The upload has expired"


class UnknownUpload(TusError):
    status, code, title = 404, "upload_not_found", "Upload not found"


class TusTooLarge(TusError):
    status, code, title = 413, "too_large", "The upload exceeds the maximum size"


def http_date(value: str) -> str:
    return format_datetime(datetime.fromisoformat(value).astimezone(UTC), usegmt=True)


def parse_metadata(header: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise BadTusRequest(f"Upload-Metadata value of {key!r} is not base64 UTF-8") from exc
    return out


def parse_checksum(header: str | None) -> bytes | None:
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise BadTusRequest("only the sha256 checksum algorithm is supported")
    try:
        return base64.b64decode(value.strip(), validate=True)
    except binascii.Error as exc:
        raise BadTusRequest("Upload-Checksum is not base64") from exc


def fields_of(metadata: dict[str, str]) -> tuple[str, str | None, UploadFields]:
    filename = check_filename(metadata.get("filename") or metadata.get("name"))
    fields = parse_fields({k: [metadata[k]] for k in FIELD_KEYS if k in metadata}, tags_csv=True)
    return filename, metadata.get("content_type") or metadata.get("filetype"), fields


def principal_of(owner: dict[str, Any]) -> Principal:
    return Principal(
        subject=owner["id"],
        username=owner["username"],
        kind=owner["kind"],
        role=owner.get("role"),
        scopes=frozenset(owner.get("scopes", [])),
    )


@dataclass
class Tus:
    store: TusStore
    uploader: uploads.Uploader
    expiration: timedelta

    def headers(self, state: UploadState, offset: int) -> dict[str, str]:
        out = {"Tus-Resumable": VERSION, "Upload-Offset": str(offset), "Cache-Control": "no-store"}
        if state.completed:
            out["ArtStore-File-Id"] = state.file_id
        else:
            out["Upload-Expires"] = http_date(state.expires_at)
        return out

    async def load(self, principal: Principal, upload_id: str) -> UploadState:
        state = await anyio.to_thread.run_sync(self.store.load, upload_id)
        if state is None:
            raise UnknownUpload(f"no upload {upload_id}")
        if state.owner["id"] != principal.subject or state.owner["kind"] != principal.kind:
            raise UnknownUpload(f"no upload {upload_id}")  # someone else's upload does not exist for you
        if state.expired():
            raise UploadGone(f"upload {upload_id} expired at {state.expires_at}")
        return state

    async def create(
        self, principal: Principal, length_header: str | None, metadata_header: str | None
    ) -> UploadState:
        uploads.check_can_upload(principal)
        if length_header is None or not length_header.isdigit():
            raise BadTusRequest("Upload-Length is required (Upload-Defer-Length is not supported)")
        length = int(length_header)
        if length > self.uploader.max_bytes:
            raise TusTooLarge(f"the upload is larger than the maximum of {self.uploader.max_bytes} bytes")
        metadata = parse_metadata(metadata_header)
        fields_of(metadata)  # 422 now, not after the last byte
        owner = {**uploads.owner_of(principal), "role": principal.role, "scopes": sorted(principal.scopes)}
        expires = datetime.now(UTC) + self.expiration
        return await anyio.to_thread.run_sync(
            lambda: self.store.create(length=length, metadata=metadata, owner=owner, expires_at=expires)
        )

    async def append(
        self,
        state: UploadState,
        offset: int,
        chunks: AsyncIterator[bytes],
        checksum: bytes | None,
        session: AsyncSession,
    ) -> tuple[UploadState, int]:
        """Append a PATCH body at ``offset``; with the last byte, commit the file to an SE.

        Both under the upload's lock, so two requests never commit one upload at once.
        ``offset`` may also be the full length when every byte is staged: an empty PATCH
        there only retries the commit.
        """
        try:
            with self.store.locked(state.id):
                fresh = await anyio.to_thread.run_sync(self.store.load, state.id)
                state = fresh or state  # another request may have committed it meanwhile
                if state.completed:
                    return state, state.length
                current = await anyio.to_thread.run_sync(self.store.offset, state)
                staged = await anyio.to_thread.run_sync(self.store.staged, state)
                if offset not in (current, staged):
                    raise OffsetConflict(f"the upload is at offset {current}, not {offset}")
                end = await self._write(state, offset, chunks, checksum)
                if end == state.length:
                    state = await self.complete(state, session)
                return state, end
        except Locked as exc:
            raise UploadLocked("another request is writing to this upload") from exc

    async def _write(
        self, state: UploadState, start: int, chunks: AsyncIterator[bytes], checksum: bytes | None
    ) -> int:
        digest = hashlib.sha256()
        end = start
        buffer = bytearray()
        async with await anyio.open_file(self.store.part_path(state.id), "r+b") as f:
            await f.seek(start)
            try:
                async for chunk in chunks:
                    if end + len(buffer) + len(chunk) > state.length:
                        raise BadTusRequest("the body goes past Upload-Length")
                    buffer.extend(chunk)
                    digest.update(chunk)
                    if len(buffer) >= WRITE_BUFFER:
                        await f.write(bytes(buffer))
                        end += len(buffer)
                        buffer.clear()
                if checksum is not None and digest.digest() != checksum:
                    raise ChecksumMismatch("the body does not match Upload-Checksum")
            except (Exception, anyio.get_cancelled_exc_class()) as exc:
                if checksum is not None:  # a chunk that cannot be verified is not kept
                    await f.truncate(start)
                else:  # a dropped connection keeps what arrived: the client resumes from there
                    await self._flush(f, buffer)
                if isinstance(exc, ClientDisconnect):
                    raise BadTusRequest("the client went away; HEAD tells where to resume") from None
                raise
            end += await self._flush(f, buffer)
        return end

    @staticmethod
    async def _flush(f: anyio.AsyncFile[bytes], buffer: bytearray) -> int:
        await f.write(bytes(buffer))
        await f.flush()
        await anyio.to_thread.run_sync(os.fsync, f.wrapped.fileno())
        return len(buffer)

    async def complete(self, state: UploadState, session: AsyncSession) -> UploadState:
        """Send the staged file to an SE; answer only after the SE committed it."""
        principal = principal_of(state.owner)
        filename, content_type, fields = fields_of(state.metadata)
        # aclosing: when the SE fails mid-file, the staged file is closed now, not by the GC.
        async with aclosing(self._read(state)) as staged:
            source = uploads.Source(staged, filename, content_type, length=state.length, via="tus")
            stored = await uploads.upload(
                uploader=self.uploader,
                session=session,
                principal=principal,
                fields=fields,
                source=source,
                file_id=state.file_id,
            )
        state.completed, state.record = True, stored
        state.expires_at = (datetime.now(UTC) + self.expiration).isoformat()  # how long HEAD repeats the id
        await anyio.to_thread.run_sync(self.store.save, state)
        await anyio.to_thread.run_sync(self.store.drop_part, state.id)
        log.info("tus_upload_committed", extra={"upload_id": state.id, "file_id": state.file_id})
        return state

    async def _read(self, state: UploadState) -> AsyncGenerator[bytes, None]:
        async with await anyio.open_file(self.store.part_path(state.id), "rb") as f:
            while chunk := await f.read(WRITE_BUFFER):
                yield chunk

    async def terminate(self, principal: Principal, upload_id: str) -> None:
        state = await self.load(principal, upload_id)
        try:
            with self.store.locked(state.id):
                await anyio.to_thread.run_sync(self.store.remove, state.id)
        except Locked as exc:
            raise UploadLocked("the upload is being written") from exc

    async def cleanup(self) -> int:
        expired = await anyio.to_thread.run_sync(self.store.expired)
        for upload_id in expired:
            try:
                with self.store.locked(upload_id):
                    await anyio.to_thread.run_sync(self.store.remove, upload_id)
            except Locked:
                continue
        return len(expired)
