"""File operations for the routers: attributes from headers, owner rules, records."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from shared.auth import Principal
from shared.errors import Forbidden, InvalidInput
from storage_element.errors import FileNotFound, TooLarge
from storage_element.index import repository as repo
from storage_element.storage import mutate, writer
from storage_element.storage.layout import check_file_id
from storage_element.storage.sidecar import Owner, Retention, Sidecar, check_limits, record, utcnow
from storage_element.storage.store import Store

MAX_ATTRIBUTES_BYTES = 16 * 1024
DEFAULT_TTL_DAYS = 30


def parse_attributes(header: str | None) -> dict[str, Any]:
    if not header:
        return {}
    if len(header) > MAX_ATTRIBUTES_BYTES:
        raise InvalidInput("X-ArtStore-Attributes is larger than 16 KiB")
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        attrs = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("X-ArtStore-Attributes must be base64url-encoded JSON") from exc
    if not isinstance(attrs, dict):
        raise InvalidInput("X-ArtStore-Attributes must be a JSON object")
    return attrs


def _retention(attrs: dict[str, Any]) -> dict[str, Any]:
    nested = attrs.get("retention")
    if isinstance(nested, dict):
        data = dict(nested)
    else:
        data = {
            k: attrs[f]
            for k, f in (
                ("policy", "retention_policy"),
                ("expires_at", "expires_at"),
                ("retain_until", "retain_until"),
                ("legal_hold", "legal_hold"),
            )
            if attrs.get(f) is not None
        }
    retention = Retention.model_validate(data)
    if retention.policy == "temporary" and retention.expires_at is None:
        retention.expires_at = utcnow() + timedelta(days=float(attrs.get("ttl_days") or DEFAULT_TTL_DAYS))
    return retention.model_dump()


def build_fields(
    file_id: str,
    attrs: dict[str, Any],
    principal: Principal,
    *,
    content_type: str | None,
    copy_state: str | None,
) -> dict[str, Any]:
    check_file_id(file_id)
    on_behalf = principal.has_scope("files:write-on-behalf")
    if on_behalf and isinstance(attrs.get("owner"), dict):
        owner = Owner.model_validate(attrs["owner"]).model_dump()
    else:
        owner = {"id": principal.subject, "username": principal.username, "kind": principal.kind}
    fields: dict[str, Any] = {
        "file_id": file_id,
        "original_filename": str(attrs.get("original_filename") or attrs.get("filename") or file_id),
        "content_type": str(attrs.get("content_type") or content_type or "application/octet-stream"),
        "owner": owner,
        "uploaded_via": principal.username,
        "description": str(attrs.get("description") or ""),
        "tags": list(attrs.get("tags") or []),
        "metadata": dict(attrs.get("metadata") or {}),
        "retention": _retention(attrs),
        "related": dict(attrs.get("related") or {}),
        "copy_state": "committed",
    }
    check_limits(description=fields["description"], tags=fields["tags"], metadata=fields["metadata"])
    if copy_state not in (None, "", "committed", "pending"):
        raise InvalidInput("X-ArtStore-Copy-State must be pending")
    if copy_state == "pending":
        fields["copy_state"] = "pending"
    if on_behalf:  # a copy between SEs keeps every attribute
        for name in ("created_at", "updated_at", "revision", "uploaded_via"):
            if attrs.get(name) is not None:
                fields[name] = attrs[name]
    return fields


async def upload(
    store: Store, *, file_id: str, principal: Principal, chunks: AsyncIterator[bytes], headers: dict[str, str]
) -> tuple[dict[str, Any], bool]:
    attrs = parse_attributes(headers.get("x-artstore-attributes"))
    fields = build_fields(
        file_id,
        attrs,
        principal,
        content_type=headers.get("content-type"),
        copy_state=headers.get("x-artstore-copy-state"),
    )
    length = _int_header(headers, "content-length")
    reserve_header = _int_header(headers, "x-artstore-reserve-bytes")
    limit = store.settings.max_upload_bytes
    declared = length if length is not None else reserve_header if reserve_header is not None else limit
    if declared > limit:
        raise TooLarge(f"uploads are limited to {limit} bytes")
    body = writer.Body(
        chunks, length=length, limit=declared, expected_sha256=headers.get("x-artstore-expected-sha256")
    )
    sidecar, created = await writer.put(store, fields=fields, body=body, reserve=declared, actor=principal)
    return to_record(store, sidecar), created


def _int_header(headers: dict[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be an integer") from exc
    if number < 0:
        raise InvalidInput(f"{name} must not be negative")
    return number


def to_record(store: Store, sidecar: Sidecar) -> dict[str, Any]:
    return record(sidecar, se_id=store.se_id, mode=store.mode.current)


async def get(store: Store, file_id: str) -> Sidecar:
    sidecar = await store.find(check_file_id(file_id))
    if sidecar is None:
        raise FileNotFound(f"file {file_id} is not on this storage element")
    return sidecar


async def patch(store: Store, file_id: str, changes: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if changes.get("copy_state") is not None and not principal.has_scope("files:relocate"):
        raise Forbidden("switching copy_state is for sagas (files:relocate)")
    sidecar = await mutate.update(store, check_file_id(file_id), changes, actor=principal)
    return to_record(store, sidecar)


async def delete(
    store: Store,
    file_id: str,
    principal: Principal,
    *,
    reason: str | None,
    target: str | None,
    sha256: str | None,
) -> None:
    needed = "files:delete" if reason is None else "files:relocate"
    if not principal.has_scope(needed):
        raise Forbidden(f"missing scope: {needed}")
    action = "file.delete" if reason is None else f"file.delete_{reason}"
    await mutate.delete(
        store,
        check_file_id(file_id),
        actor=principal,
        reason=reason,
        target=target,
        sha256=sha256,
        action=action,
    )


async def list_records(store: Store, *, q: str | None, cursor: str | None, limit: int) -> dict[str, Any]:
    try:
        after = repo.decode_cursor(cursor) if cursor else None
    except ValueError as exc:
        raise InvalidInput("cursor is not one this storage element handed out") from exc
    async with store.sessions() as session:
        docs, next_cursor = await repo.list_docs(session, q=q, after=after, limit=limit)
    return {"items": [to_record(store, Sidecar.load(d)) for d in docs], "next_cursor": next_cursor}


async def verify(store: Store, file_id: str, principal: Principal) -> dict[str, Any]:
    ok, sha256 = await mutate.verify(store, check_file_id(file_id), actor=principal)
    return {"ok": ok, "sha256": sha256}
