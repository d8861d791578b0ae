"""Outgoing HTTP: one client factory for calls between services.

Timeouts come from settings; idempotent requests are retried with exponential backoff
(on connection errors and 502/503/504); every request carries the current
``X-Request-ID`` and W3C ``traceparent``.

The data paths to the storage elements (the ingester's uploads, the query module's
downloads) use an aiohttp session instead (:func:`create_data_session`; ADR 0003: a
fraction of httpx's CPU per request and per byte); their calls add
:func:`context_headers` themselves.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_retries import Retry, RetryTransport
from opentelemetry import propagate
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from shared.logging import request_id_var

IDEMPOTENT = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")


async def _forward_request_id(request: httpx.Request) -> None:
    request_id = request_id_var.get()
    if request_id and "x-request-id" not in request.headers:
        request.headers["X-Request-ID"] = request_id


def create_http_client(
    *,
    base_url: str = "",
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    retries: int = 3,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    retry = Retry(
        total=retries,
        allowed_methods=IDEMPOTENT,
        status_forcelist=(502, 503, 504),
        retry_on_exceptions=(httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError),
        backoff_factor=0.2,
        max_backoff_wait=5.0,
    )
    client = httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        transport=RetryTransport(transport or httpx.AsyncHTTPTransport(), retry=retry),
        event_hooks={"request": [_forward_request_id]},
    )
    HTTPXClientInstrumentor.instrument_client(client)
    return client


def context_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus the current ``X-Request-ID`` and W3C trace context (``traceparent``)."""
    out = dict(headers)
    request_id = request_id_var.get()
    if request_id:
        out["X-Request-ID"] = request_id
    propagate.inject(out)
    return out


def create_data_session(*, connect_timeout: float, read_timeout: float) -> aiohttp.ClientSession:
    """An aiohttp session for streaming to and from storage elements: no total deadline
    (a large file takes as long as it takes), bodies relayed as they are (no decoding)."""
    timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=read_timeout)
    return aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
