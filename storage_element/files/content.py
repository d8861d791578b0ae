"""Content responses: ETag ``"sha256:<hex>"``, If-None-Match (304), Range (206/416),
If-Range, HEAD, and RFC 6266 ``Content-Disposition`` with UTF-8 names.

Every backend streams the decided range in 1 MiB pieces (the local one with one
``pread`` per piece in a worker thread). Starlette's ``FileResponse`` is not used: under
uvicorn (no ``pathsend``) it reads 64 KiB per thread hop, which measured as the SE's main
cost of a large download (docs/performance.md). Copies stored compressed are decoded while
streaming (storage/codec.py). Size, ETag and Range are always the original bytes'.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from fastapi import Request
from starlette.responses import Response, StreamingResponse

from storage_element.errors import Archived, Corrupt, FileNotFound, RangeNotSatisfiable
from storage_element.storage import codec
from storage_element.storage.sidecar import Sidecar
from storage_element.storage.store import Store


def etag(sidecar: Sidecar) -> str:
    return f'"sha256:{sidecar.sha256}"'


def content_disposition(filename: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as (start, end exclusive); None = serve everything.

    Malformed or multi-range headers are ignored (RFC 9110 allows it); a syntactically
    valid range that cannot be satisfied raises 416.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0 or size == 0:
                raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
            return max(0, size - suffix), size
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start >= size:
        raise RangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    if end <= start:
        return None
    return start, min(end, size)


def _if_range_holds(value: str | None, sidecar: Sidecar) -> bool:
    if value is None:
        return True
    if value.startswith('"'):
        return value == etag(sidecar)
    try:
        return parsedate_to_datetime(value) >= sidecar.created_at.replace(microsecond=0)
    except (TypeError, ValueError):
        return False


def _none_match(value: str | None, sidecar: Sidecar) -> bool:
    if not value:
        return False
    tags = {t.strip().removeprefix("W/") for t in value.split(",")}
    return "*" in tags or etag(sidecar) in tags


async def respond(store: Store, sidecar: Sidecar, request: Request) -> Response:
    if store.mode.current == "ar":
        raise Archived(f"file {sidecar.file_id} is archived offline")
    if sidecar.copy_state == "corrupt":
        raise Corrupt(f"file {sidecar.file_id} failed verification and is quarantined")
    headers = {
        "ETag": etag(sidecar),
        "Content-Disposition": content_disposition(sidecar.original_filename),
        "Accept-Ranges": "bytes",
        "X-ArtStore-Sha256": sidecar.sha256,
        "Last-Modified": format_datetime(sidecar.created_at.astimezone(UTC), usegmt=True),
    }
    if _none_match(request.headers.get("if-none-match"), sidecar):
        return Response(status_code=304, headers=headers)
    byte_range = None
    if _if_range_holds(request.headers.get("if-range"), sidecar):
        byte_range = parse_range(request.headers.get("range"), sidecar.size)
    start, end = byte_range or (0, sidecar.size)
    status = 206 if byte_range else 200
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{sidecar.size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=sidecar.content_type)
    if sidecar.encoding is not None:  # decoded while streaming; the range is of the original
        chunks = codec.read_original(store.backend, sidecar.path, sidecar.encoding.name, start, end - start)
    else:
        chunks = store.backend.read_range(sidecar.path, start, end - start)
    return StreamingResponse(
        await _opened(chunks, sidecar.file_id),
        status_code=status,
        headers=headers,
        media_type=sidecar.content_type,
    )


async def _opened(chunks: AsyncGenerator[bytes, None], file_id: str) -> AsyncIterator[bytes]:
    """``chunks`` with its first piece already read, before the status line goes out.

    The sidecar was read a moment ago; a saga or a delete may have removed the data since.
    Reading first turns that into a 404 the caller can act on (the query module tries the
    next copy) instead of a 200 whose body ends before its first byte. Once open, the
    file's descriptor keeps the bytes readable even if it is unlinked meanwhile.
    """
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""
    except FileNotFoundError as exc:
        await chunks.aclose()
        raise FileNotFound(f"file {file_id} was removed from this storage element") from exc

    async def rest() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    return rest()
