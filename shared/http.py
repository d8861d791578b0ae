"""Outgoing HTTP: one client factory for calls between services.

Timeouts come from settings; idempotent requests are retried with exponential backoff
(on connection errors and 502/503/504); every request carries the current
``X-Request-ID`` and W3C ``traceparent``.
"""

from __future__ import annotations

import httpx
from httpx_retries import Retry, RetryTransport
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
