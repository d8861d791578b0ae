"""The storage element's file API as the ingester uses it (API.md "storage_element").

aiohttp on this data path, not the fleet's httpx client: it is about four times cheaper
in CPU per request here (docs/adr/0003-ingester-placement-before-first-byte.md) and it
implements ``Expect: 100-continue``, which lets an SE refuse an upload (507, mode) before
the ingester has sent, and so consumed, a single byte of the caller's body.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

import aiohttp

from shared.discovery import StorageElementInfo
from shared.http import context_headers

ATTRIBUTES_HEADER = "X-ArtStore-Attributes"
MAX_ATTRIBUTES_HEADER = 16 * 1024
# Moved out of the header, largest first, when all the limits together overflow it.
DEFERRABLE = ("metadata", "description", "tags")


class TokenSource(Protocol):
    async def headers(self) -> dict[str, str]: ...


class StorageError(Exception):
    """An SE answered with an error status (``status``/``code`` from its problem+json)."""

    def __init__(self, se_id: str, status: int, code: str, detail: str) -> None:
        super().__init__(f"{se_id}: {status} {code}: {detail}")
        self.se_id, self.status, self.code, self.detail = se_id, status, code, detail


class StorageUnreachable(Exception):
    """No HTTP answer from an SE (refused, reset, timed out)."""

    def __init__(self, se_id: str, cause: BaseException) -> None:
        super().__init__(f"{se_id}: {cause!r}")
        self.se_id = se_id


class Body:
    """A request body pulled once; ``started`` tells whether any byte was taken from it.

    Each attempt gets a fresh generator from :meth:`chunks`, so an SE that refused before
    reading leaves the source untouched for the next SE.
    """

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self._source = source
        self.started = False
        self.sent = 0
        self.broken = False  # the source itself raised (client gone, too large, a bad late field)

    async def chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        try:
            async for chunk in self._source:
                self.sent += len(chunk)
                yield chunk
        except Exception:
            self.broken = True
            raise


def encode_attributes(attributes: Mapping[str, Any]) -> str:
    raw = json.dumps(attributes, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def split_attributes(attributes: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The header value (at most 16 KiB) and the fields that must follow by PATCH.

    Description (4 KiB), 50 tags of 64 characters and 8 KiB of metadata are each within
    their limits but together, base64-encoded, exceed the SE's 16 KiB header: those go in
    a PATCH right after the upload commits.
    """
    header_attrs, deferred = dict(attributes), {}
    encoded = encode_attributes(header_attrs)
    for name in DEFERRABLE:
        if len(encoded) <= MAX_ATTRIBUTES_HEADER:
            break
        if name in header_attrs:
            deferred[name] = header_attrs.pop(name)
            encoded = encode_attributes(header_attrs)
    return encoded, deferred


async def _error(se_id: str, response: aiohttp.ClientResponse) -> StorageError:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    return StorageError(
        se_id,
        response.status,
        str(body.get("code") or f"http_{response.status}"),
        str(body.get("detail", "")),
    )


class StorageClient:
    def __init__(self, session: aiohttp.ClientSession, tokens: TokenSource) -> None:
        self.session = session
        self.tokens = tokens

    async def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = context_headers(await self.tokens.headers())
        headers.update(extra or {})
        return headers

    @staticmethod
    def _url(se: StorageElementInfo, file_id: str, suffix: str = "") -> str:
        return f"{se.url}/api/v1/files/{file_id}{suffix}"

    async def put_file(
        self,
        se: StorageElementInfo,
        file_id: str,
        body: AsyncIterable[bytes],
        *,
        content_type: str,
        attributes: Mapping[str, Any],
        length: int | None = None,
        reserve: int | None = None,
        expected_sha256: str | None = None,
        pending: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """Stream ``body`` to the SE as ``file_id``; returns (status, record)."""
        encoded, deferred = split_attributes(attributes)
        extra = {"Content-Type": content_type, ATTRIBUTES_HEADER: encoded}
        if length is not None:
            extra["Content-Length"] = str(length)
        if reserve is not None:
            extra["X-ArtStore-Reserve-Bytes"] = str(reserve)
        if expected_sha256:
            extra["X-ArtStore-Expected-Sha256"] = expected_sha256
        if pending:
            extra["X-ArtStore-Copy-State"] = "pending"
        headers = await self._headers(extra)
        try:
            async with self.session.put(
                self._url(se, file_id), data=body, headers=headers, expect100=True
            ) as response:
                if response.status >= 400:
                    raise await _error(se.id, response)
                record: dict[str, Any] = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StorageUnreachable(se.id, exc) from exc
        if deferred and any(record.get(k) != v for k, v in deferred.items()):
            record = await self.patch(se, file_id, deferred)
        return response.status, record

    async def _json(
        self, method: str, url: str, se: StorageElementInfo, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        try:
            async with self.session.request(method, url, headers=await self._headers(), **kwargs) as response:
                if response.status >= 400:
                    raise await _error(se.id, response)
                if response.status == 204:
                    return 204, {}
                body = await response.json(content_type=None)
                return response.status, body if isinstance(body, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StorageUnreachable(se.id, exc) from exc

    async def get_record(self, se: StorageElementInfo, file_id: str) -> dict[str, Any] | None:
        try:
            return (await self._json("GET", self._url(se, file_id), se))[1]
        except StorageError as exc:
            if exc.status == 404:
                return None
            raise

    async def patch(self, se: StorageElementInfo, file_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return (await self._json("PATCH", self._url(se, file_id), se, json=dict(changes)))[1]

    async def verify(self, se: StorageElementInfo, file_id: str) -> dict[str, Any]:
        return (await self._json("POST", self._url(se, file_id, "/verify"), se))[1]

    async def delete(
        self,
        se: StorageElementInfo,
        file_id: str,
        *,
        reason: str | None = None,
        target: str | None = None,
        sha256: str | None = None,
    ) -> bool:
        """Delete this copy; False when it was already gone."""
        params = {k: v for k, v in (("reason", reason), ("target", target), ("sha256", sha256)) if v}
        try:
            await self._json("DELETE", self._url(se, file_id), se, params=params)
        except StorageError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    @asynccontextmanager
    async def content(self, se: StorageElementInfo, file_id: str) -> AsyncIterator[aiohttp.ClientResponse]:
        """The copy's bytes as a streamed response (iterate ``response.content``)."""
        try:
            async with self.session.get(
                self._url(se, file_id, "/content"), headers=await self._headers()
            ) as response:
                if response.status >= 400:
                    raise await _error(se.id, response)
                yield response
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StorageUnreachable(se.id, exc) from exc
