"""Uploads: stream the caller's bytes to the chosen storage element, never spooling them.

The ingester holds at most the first :data:`PEEK_BYTES` (to detect the content type)
and the chunk in flight. Placement happens before the first byte of the body leaves:
each SE is asked with ``Expect: 100-continue``, so an SE that refuses (507, mode, down)
has taken nothing and the next one gets the untouched body (ADR 0003).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from ingester_module.clients.storage import Body, StorageClient, StorageError, StorageUnreachable
from ingester_module.errors import (
    AttributesNotApplied,
    ClientGone,
    InvalidField,
    StorageRejected,
    UploadTooLarge,
)
from ingester_module.placement.breaker import Breakers
from ingester_module.placement.service import candidates, place
from ingester_module.uploads.content_type import PEEK_BYTES, detect
from ingester_module.uploads.schemas import LateFields, UploadFields
from shared.auth import Principal
from shared.discovery import Discovery, StorageElementInfo
from shared.errors import Forbidden
from shared.outbox import audit_event, record

log = logging.getLogger("artstore.ingester.uploads")
SERVICE = "ingester_module"


@dataclass
class Uploader:
    """What an upload needs from the app (built once in the lifespan)."""

    discovery: Discovery
    breakers: Breakers
    storage: StorageClient
    max_bytes: int
    default_ttl_days: int


@dataclass
class Source:
    """The file's bytes as they arrive, plus what is known about their size."""

    chunks: AsyncIterator[bytes]
    filename: str
    content_type: str | None
    length: int | None = None  # exact size, when known (raw PUT, tus)
    reserve: int | None = None  # upper bound (a multipart request's Content-Length)
    expected_sha256: str | None = None
    via: str = "multipart"


def owner_of(principal: Principal) -> dict[str, str]:
    return {"id": principal.subject, "username": principal.username, "kind": principal.kind}


def check_can_upload(principal: Principal) -> None:
    if not principal.has_scope("files:write"):
        raise Forbidden("uploading needs the files:write scope")


def check_declared_size(size: int | None, max_bytes: int) -> None:
    if size is not None and size > max_bytes:
        raise UploadTooLarge(f"the upload is larger than the maximum of {max_bytes} bytes")


async def peek(chunks: AsyncIterator[bytes], size: int) -> tuple[bytes, AsyncIterator[bytes]]:
    """Read at least ``size`` bytes (or all) and return them with an iterator of the rest."""
    head = bytearray()
    async for chunk in chunks:
        head.extend(chunk)
        if len(head) >= size:
            break

    async def rest() -> AsyncIterator[bytes]:
        if head:
            yield bytes(head)
        async for chunk in chunks:
            yield chunk

    return bytes(head), rest()


async def _bounded(chunks: AsyncIterator[bytes], limit: int, state: dict[str, Any]) -> AsyncIterator[bytes]:
    """Pass chunks through, counting; past ``limit`` abort the SE request (it rolls back)."""
    total = 0
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > limit:
                raise UploadTooLarge(f"the upload is larger than the maximum of {limit} bytes")
            yield chunk
    except ClientDisconnect as exc:
        state["error"] = ClientGone(f"the client went away after {total} bytes; nothing was stored")
        raise state["error"] from exc
    except Exception as exc:
        state["error"] = exc  # the SE hop only sees a broken body; the caller sees why
        raise


def attributes(
    *, filename: str, owner: dict[str, str], fields: UploadFields, default_ttl_days: int, via: str
) -> dict[str, Any]:
    return {
        "original_filename": filename,
        "owner": owner,
        "description": fields.description,
        "tags": fields.tags,
        "metadata": fields.metadata,
        "retention": fields.retention(default_ttl_days),
        "uploaded_via": f"ingester:{via}",
    }


def storage_failure(exc: StorageError | StorageUnreachable) -> Exception:
    if isinstance(exc, StorageError) and exc.status == 422:
        return InvalidField(f"the storage element refused the file: {exc.detail}", code_from_se=exc.code)
    return StorageRejected(f"the upload to the storage element failed: {exc}")


async def _stream(
    uploader: Uploader,
    policy: str,
    source: Source,
    file_id: str,
    chunks: AsyncIterator[bytes],
    headers: dict[str, Any],
) -> tuple[StorageElementInfo, dict[str, Any]]:
    """Place and stream; an error of the client's body wins over the SE hop's view of it."""
    state: dict[str, Any] = {}
    body = Body(_bounded(chunks, uploader.max_bytes, state))
    reserve = source.reserve if source.length is None else None
    # Room for the declared size: the exact length, else the bound the SE will reserve.
    declared = source.length if source.length is not None else reserve or 0
    ses = candidates(uploader.discovery, uploader.breakers, policy, declared)

    async def attempt(se: StorageElementInfo) -> tuple[int, dict[str, Any]]:
        return await uploader.storage.put_file(
            se,
            file_id,
            body.chunks(),
            length=source.length,
            reserve=reserve,
            expected_sha256=source.expected_sha256,
            **headers,
        )

    try:
        se, (_, stored) = await place(ses, uploader.breakers, body, attempt)
    except (StorageError, StorageUnreachable) as exc:
        if "error" in state:
            raise state["error"] from exc
        raise storage_failure(exc) from exc
    return se, stored


async def _apply_late(
    uploader: Uploader, se: StorageElementInfo, file_id: str, stored: dict[str, Any], late: LateFields | None
) -> tuple[dict[str, Any], Exception | None]:
    """PATCH the fields that came after the file part onto the committed copy."""
    if late is None or not late.changes:
        return stored, None
    try:
        return await uploader.storage.patch(se, file_id, late.changes), None
    except (StorageError, StorageUnreachable) as exc:
        log.warning(
            "late_fields_not_applied", extra={"file_id": file_id, "se_id": se.id, "fields": late.names}
        )
        return stored, exc


def _not_applied(
    file_id: str, se: StorageElementInfo, late: LateFields, exc: Exception
) -> AttributesNotApplied:
    names = ", ".join(late.names)
    return AttributesNotApplied(
        f"the file was stored as {file_id} on {se.id}, but the fields sent after the file part "
        f"({names}) could not be applied ({exc}); the file exists without them: set them with "
        f"PATCH /api/v1/files/{file_id} or delete it",
        file_id=file_id,
        storage_element_id=se.id,
        missing_fields=late.names,
    )


async def upload(
    *,
    uploader: Uploader,
    session: AsyncSession,
    principal: Principal,
    fields: UploadFields,
    source: Source,
    file_id: str | None = None,
    late: LateFields | None = None,
) -> dict[str, Any]:
    """Place and stream one file; returns the SE's file record.

    ``late`` (multipart only) is checked by the reader before the SE commits and applied
    here right after; when that PATCH fails the upload's audit event is still recorded and
    :class:`AttributesNotApplied` is raised (the router answers it without rolling back).
    """
    check_can_upload(principal)
    check_declared_size(source.length, uploader.max_bytes)
    head, chunks = await peek(source.chunks, PEEK_BYTES)
    file_id = file_id or str(uuid.uuid4())
    attrs = attributes(
        filename=source.filename,
        owner=owner_of(principal),
        fields=fields,
        default_ttl_days=uploader.default_ttl_days,
        via=source.via,
    )
    headers = {"content_type": detect(source.content_type, source.filename, head), "attributes": attrs}
    se, stored = await _stream(uploader, fields.retention_policy, source, file_id, chunks, headers)
    log.info("upload_committed", extra={"file_id": file_id, "se_id": se.id, "bytes": stored.get("size")})
    stored, failure = await _apply_late(uploader, se, file_id, stored, late)
    details = {
        "storage_element_id": se.id,
        "size": stored.get("size"),
        "sha256": stored.get("sha256"),
        "via": source.via,
        "retention_policy": fields.retention_policy,
    }
    if late is not None and late.names:
        details["fields_after_file"] = late.names
        details["fields_after_file_applied"] = failure is None
    event = audit_event(
        service=SERVICE, action="file.upload", actor=principal, target=file_id, details=details
    )
    await record(session, event)
    if late is not None and failure is not None:
        raise _not_applied(file_id, se, late, failure)
    return stored
