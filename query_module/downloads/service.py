"""Downloads: stream a file from the SE holding its preferred copy, verifying as it goes.

Order of copies: the record's ``copies`` (preferred first); corrupt and archived copies
are never read. A copy whose SE is unknown to discovery, whose circuit is open, or that
fails to answer (connection error, 5xx) is skipped for the next one; when none answers,
503 ``storage_unavailable`` with ``Retry-After``. When every copy answers 404 the catalog
is behind: a saga may have moved the file to an SE whose feed was not read yet. Every
feed is then read to its end and the download tried once more with the fresh record.

``Range``, ``If-Range``, ``If-None-Match`` go to the SE unchanged, and its status
(200/206/304/412/416), ``ETag``, ``Content-Range``, ``Content-Length`` come back
unchanged; ``Content-Disposition`` carries the original name (RFC 6266). Memory stays
bounded: the body is relayed chunk by chunk.

A full (200) download is hashed while it streams and the last chunk is held back until
the digest is known: on a mismatch the transfer is aborted (the connection closes before
the body completes), the SE is asked to re-verify the file (which quarantines it, so the
flag comes back through the feed and survives any rebuild) and the event is audited.
Every download is audited through the outbox (who, what, how many bytes), also one
the client drops mid-body (with the bytes handed to the connection until then).

The SE data path uses aiohttp, not the fleet's httpx client (as the ingester does, ADR
0003): it costs a fraction of httpx's CPU per request and per byte, and the relay's CPU
is what bounds a download's speed (docs/performance.md). Each chunk is hashed in a worker
thread (``hashlib`` releases the GIL) while the previous one is being written out.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from query_module.downloads.breaker import CircuitBreaker
from query_module.errors import Archived, Corrupt, FileNotFound, StorageUnavailable
from query_module.metrics import QueryMetrics
from shared.auth import Principal
from shared.db import unit_of_work
from shared.discovery import Discovery
from shared.http import context_headers
from shared.outbox import OutboxDeliverer, audit_event, record
from shared.service_token import ServiceTokenProvider

log = logging.getLogger("artstore.query.download")

FORWARDED_REQUEST = ("range", "if-range", "if-none-match", "if-modified-since")
RELAYED_RESPONSE = (
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
    "content-encoding",
)

Audit = Callable[[str, str, dict[str, Any]], Awaitable[None]]


class ChecksumMismatch(Exception):
    """Raised inside the streamed body: the server drops the connection mid-transfer."""


@dataclass
class Storage:
    """What a download needs from the app: discovery, a client, a token, a breaker."""

    discovery: Discovery
    client: aiohttp.ClientSession
    tokens: ServiceTokenProvider
    breaker: CircuitBreaker
    chunk_bytes: int = 1024 * 1024
    retry_after: int = 5
    on_stale: Callable[[str], None] | None = None  # wakes the SE's feed runner
    catch_up: Callable[[], Awaitable[None]] | None = None  # reads every SE's feed to its end, now
    metrics: QueryMetrics | None = None
    background: set[asyncio.Task[Any]] = field(default_factory=set)


@dataclass
class Download:
    status: int
    headers: dict[str, str]
    body: AsyncGenerator[bytes, None] | None
    se_id: str


def auditor(
    sessions: async_sessionmaker[AsyncSession],
    outbox: OutboxDeliverer,
    *,
    principal: Principal,
    file_id: str,
    client_ip: str | None,
    user_agent: str | None,
) -> Audit:
    """Records download events through the outbox, each in its own transaction."""

    async def audit(action: str, outcome: str, details: dict[str, Any]) -> None:
        event = audit_event(
            service="query_module",
            action=action,
            outcome=outcome,
            actor=principal,
            target=file_id,
            client_ip=client_ip,
            user_agent=user_agent,
            details=details,
        )
        async with unit_of_work(sessions) as session:
            await record(session, event)
        outbox.wake()

    return audit


def content_disposition(filename: str) -> str:
    fallback = (
        "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename) or "download"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def open_download(
    storage: Storage,
    record: dict[str, Any],
    *,
    method: str,
    headers: dict[str, str],
    audit: Audit,
    reload: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> Download:
    """The SE's answer, relayed; a refused download (404, 409, 503) is audited as a failure.

    ``reload`` reads the record again once the feeds were caught up (all copies gone)."""
    try:
        try:
            return await _open(storage, record, method=method, headers=headers, audit=audit)
        except FileNotFound:
            if reload is None or storage.catch_up is None:
                raise
            await storage.catch_up()
            return await _open(storage, await reload(), method=method, headers=headers, audit=audit)
    except (Archived, Corrupt, FileNotFound, StorageUnavailable) as exc:
        if method == "GET":
            await audit("file.download", "failure", {"error": exc.code, "bytes": 0})
        raise


async def _open(
    storage: Storage, record: dict[str, Any], *, method: str, headers: dict[str, str], audit: Audit
) -> Download:
    file_id = str(record["file_id"])
    copies = record.get("copies") or []
    readable = [c["storage_element_id"] for c in copies if c.get("state") in ("committed", "pending")]
    if not readable:
        states = {c.get("state") for c in copies}
        raise Archived(f"{file_id} is archived") if "archived" in states else Corrupt(f"{file_id} is corrupt")
    try:
        auth = await storage.tokens.headers()
    except Exception as exc:  # no service token (admin unreachable, none cached): not the SEs' fault
        log.warning("download_no_service_token", extra={"error": repr(exc)})
        raise StorageUnavailable(
            "cannot authenticate to the storage elements", headers={"Retry-After": str(storage.retry_after)}
        ) from exc
    outgoing = {k: v for k, v in headers.items() if k.lower() in FORWARDED_REQUEST} | auth
    conflict: str | None = None
    for se_id in readable:
        se = storage.discovery.get(se_id)
        if se is None or not storage.breaker.allow(se_id):
            continue
        response = await _request(storage, se.url, file_id, method, outgoing, se_id)
        if response is None:
            continue
        if response.status in (404, 409):
            code = await _problem_code(response)
            if response.status == 409 or conflict is None:
                conflict = code if response.status == 409 else "not_found"
            if storage.on_stale is not None:
                storage.on_stale(se_id)  # the catalog is behind this SE: pull its feed now
            continue
        return await _relay(storage, record, response, method, se_id, se.url, audit)
    if conflict == "archived":
        raise Archived(f"{file_id} is archived")
    if conflict == "corrupt":
        raise Corrupt(f"{file_id} is corrupt")
    if conflict == "not_found":  # deleted on the SEs; the catalog has not caught up yet
        raise FileNotFound(f"no file {file_id}")
    raise StorageUnavailable(
        f"no storage element holding {file_id} is reachable",
        headers={"Retry-After": str(storage.retry_after)},
    )


async def _request(
    storage: Storage, base: str, file_id: str, method: str, headers: dict[str, str], se_id: str
) -> aiohttp.ClientResponse | None:
    url = f"{base}/api/v1/files/{quote(file_id, safe='')}/content"
    try:
        response = await storage.client.request(method, url, headers=context_headers(headers))
    except Exception as exc:  # connection refused, timeout: try the next copy
        storage.breaker.failure(se_id)
        log.warning("download_se_failed", extra={"se_id": se_id, "error": repr(exc)})
        return None
    if response.status >= 500 or response.status in (401, 403):
        storage.breaker.failure(se_id)
        log.warning("download_se_refused", extra={"se_id": se_id, "status": response.status})
        response.release()
        return None
    storage.breaker.success(se_id)
    return response


async def _problem_code(response: aiohttp.ClientResponse) -> str | None:
    """The ``code`` of the SE's small problem+json answer (``archived``, ``corrupt``...)."""
    try:
        code = (await response.json(content_type=None)).get("code")
    except Exception:
        code = None
    finally:
        response.release()
    return str(code) if code else None


async def _relay(
    storage: Storage,
    record: dict[str, Any],
    response: aiohttp.ClientResponse,
    method: str,
    se_id: str,
    se_url: str,
    audit: Audit,
) -> Download:
    headers = {k: response.headers[k] for k in RELAYED_RESPONSE if k in response.headers}
    headers["content-disposition"] = content_disposition(str(record.get("original_filename") or "download"))
    if method == "HEAD" or response.status == 304:
        response.release()
        return Download(response.status, headers, None, se_id)
    verify = response.status == 200 and "content-encoding" not in headers
    body = _stream(storage, record, response, se_id, se_url, audit, verify=verify)
    return Download(response.status, headers, body, se_id)


async def _stream(
    storage: Storage,
    record: dict[str, Any],
    response: aiohttp.ClientResponse,
    se_id: str,
    se_url: str,
    audit: Audit,
    *,
    verify: bool,
) -> AsyncGenerator[bytes, None]:
    """Relay the body; the last chunk is held back until the digest of the whole is known.

    Chunk N is hashed in a worker thread while chunk N-1 is handed to the server, so
    hashing and sending overlap instead of taking turns on the event loop.
    """
    file_id = str(record["file_id"])
    digest = hashlib.sha256()
    held: bytes | None = None
    sent = 0
    outcome = "failure"
    details: dict[str, Any] = {"storage_element_id": se_id, "status": response.status}
    try:
        async for chunk in response.content.iter_chunked(storage.chunk_bytes):
            hashing = asyncio.ensure_future(asyncio.to_thread(digest.update, chunk)) if verify else None
            try:
                if held is not None:
                    yield held
                    sent += len(held)
            finally:
                if hashing is not None:
                    await hashing
            held = chunk
        if verify and digest.hexdigest() != record.get("sha256"):
            details["observed_sha256"] = digest.hexdigest()
            if storage.metrics is not None:
                storage.metrics.checksum_mismatches.labels(se_id).inc()
            _after_mismatch(storage, se_url, se_id, file_id)
            await audit("file.download.checksum_mismatch", "failure", {**details, "bytes": sent})
            outcome = "aborted"
            raise ChecksumMismatch(f"{file_id}: sha256 mismatch from {se_id}")
        if held is not None:
            yield held
            sent += len(held)
        outcome = "success"
    finally:
        response.release()
        if storage.metrics is not None:
            storage.metrics.download_bytes.labels(se_id).inc(sent)
        if outcome != "aborted":
            with anyio.CancelScope(shield=True):  # a client gone mid-body cancels the stream
                await audit("file.download", outcome, {**details, "bytes": sent, "verified": verify})


def _after_mismatch(storage: Storage, se_url: str, se_id: str, file_id: str) -> None:
    log.error("download_checksum_mismatch", extra={"file_id": file_id, "se_id": se_id})

    async def ask_verify() -> None:
        try:
            async with storage.client.post(
                f"{se_url}/api/v1/files/{quote(file_id, safe='')}/verify",
                headers=context_headers(await storage.tokens.headers()),
            ) as response:
                await response.read()
            log.info(
                "verify_requested", extra={"file_id": file_id, "se_id": se_id, "status": response.status}
            )
        except Exception as exc:
            log.warning("verify_request_failed", extra={"file_id": file_id, "error": repr(exc)})
        if storage.on_stale is not None:
            storage.on_stale(se_id)

    task = asyncio.get_running_loop().create_task(ask_verify())
    storage.background.add(task)
    task.add_done_callback(storage.background.discard)
