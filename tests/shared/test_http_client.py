"""The outgoing HTTP client (``create_http_client``) against small local servers.

Every call carries the current ``X-Request-ID`` and a W3C ``traceparent`` in the current
trace; idempotent calls are retried with exponential backoff on connection failures and
502/503/504, other calls never.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from starlette.types import Receive, Scope, Send

from shared.http import context_headers, create_data_session, create_http_client
from shared.logging import request_id_var
from shared.tracing import configure_tracing
from tests.shared.conftest import preserved_logging, probe_app, serve
from tests.support.servers import free_port

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
IDEMPOTENT = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")
RETRIES = 3


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    at: float


@dataclass
class Upstream:
    """A tiny ASGI server that records every request it gets.

    ``/status/<code>`` always answers ``code``; ``/flaky/<n>`` answers 503 to its first ``n``
    requests and 200 after; anything else answers 200 with the request's headers as JSON."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)

    def count(self, path: str, method: str | None = None) -> int:
        return sum(1 for h in self.hits if h.path == path and method in (None, h.method))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body", False):
            pass
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        self.hits.append(Hit(scope["method"], path, headers, time.monotonic()))
        status, body = 200, json.dumps(headers).encode()
        if path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
        elif path.startswith("/flaky/") and self.count(path) <= int(path.rsplit("/", 1)[1]):
            status = 503
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = Upstream()
    async with serve(server, lifespan="off") as url:
        server.url = url
        yield server


@pytest.fixture
def no_jitter_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full jitter draws each wait in [0, backoff]; take 0 where a test counts attempts only."""
    monkeypatch.setattr(random, "uniform", lambda low, high: low)


@asynccontextmanager
async def client(**kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    http = create_http_client(connect_timeout=10, read_timeout=30, retries=RETRIES, **kwargs)
    async with http:
        yield http


# ---------------------------------------------------------------- request id and trace context


async def test_calls_carry_the_request_id_and_the_current_trace(upstream: Upstream) -> None:
    configure_tracing("http-client-test")
    tracer = trace.get_tracer(__name__)
    token = request_id_var.set("req-outgoing-7")
    try:
        async with client() as http:
            with tracer.start_as_current_span("caller") as span:
                response = await http.get(f"{upstream.url}/anything")
                context = span.get_span_context()
    finally:
        request_id_var.reset(token)
    assert response.status_code == 200
    [hit] = upstream.hits
    assert hit.headers["x-request-id"] == "req-outgoing-7"
    match = TRACEPARENT.match(hit.headers["traceparent"])
    assert match, hit.headers["traceparent"]
    assert match.group(1) == format(context.trace_id, "032x")
    # The parent named on the wire is the client call's own span, a child of the caller's.
    assert int(match.group(2), 16) != 0 and match.group(2) != format(context.span_id, "016x")


async def test_the_data_path_session_carries_the_request_id_and_the_current_trace(upstream: Upstream) -> None:
    """The aiohttp session of the SE data paths: ``context_headers`` adds what httpx's hooks add."""
    configure_tracing("http-client-test")
    tracer = trace.get_tracer(__name__)
    token = request_id_var.set("req-data-path-3")
    try:
        async with create_data_session(connect_timeout=5, read_timeout=5) as session:
            with tracer.start_as_current_span("relay") as span:
                headers = context_headers({"Authorization": "Bearer x"})
                async with session.get(f"{upstream.url}/content", headers=headers) as response:
                    assert response.status == 200
                context = span.get_span_context()
    finally:
        request_id_var.reset(token)
    [hit] = upstream.hits
    assert hit.headers["x-request-id"] == "req-data-path-3"
    assert hit.headers["authorization"] == "Bearer x"
    match = TRACEPARENT.match(hit.headers["traceparent"])
    assert match, hit.headers["traceparent"]
    assert match.group(1) == format(context.trace_id, "032x")
    assert match.group(2) == format(context.span_id, "016x")  # no client span here: the caller's


async def test_an_explicit_request_id_wins_and_none_is_invented(upstream: Upstream) -> None:
    async with client() as http:
        await http.get(f"{upstream.url}/outside")  # no request in progress: nothing to forward
        token = request_id_var.set("req-context")
        try:
            await http.get(f"{upstream.url}/explicit", headers={"X-Request-ID": "req-explicit"})
        finally:
            request_id_var.reset(token)
    outside, explicit = upstream.hits
    assert "x-request-id" not in outside.headers
    assert explicit.headers["x-request-id"] == "req-explicit"


async def test_a_service_passes_its_callers_ids_downstream(upstream: Upstream) -> None:
    """A request reaches a service built by ``build_app``; its call to another service carries
    the caller's request id and continues the caller's trace."""
    with preserved_logging():
        app = probe_app("relay_service")
        http = create_http_client(retries=0)

        @app.get("/relay")
        async def relay() -> dict[str, Any]:
            downstream = await http.get(f"{upstream.url}/downstream")
            return {"status": downstream.status_code}

        trace_id = "0af7651916cd43dd8448eb211c80319c"
        async with http, serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as caller:
            response = await caller.get(
                "/relay",
                headers={"X-Request-ID": "req-relay", "traceparent": f"00-{trace_id}-b7ad6b7169203331-01"},
            )
    assert response.status_code == 200 and response.json() == {"status": 200}
    [hit] = upstream.hits
    assert hit.headers["x-request-id"] == "req-relay"
    match = TRACEPARENT.match(hit.headers["traceparent"])
    assert match and match.group(1) == trace_id


# ---------------------------------------------------------------- retries


@pytest.mark.usefixtures("no_jitter_wait")
async def test_idempotent_calls_are_retried_on_502_503_504(upstream: Upstream) -> None:
    async with client() as http:
        for method in IDEMPOTENT:
            response = await http.request(method, f"{upstream.url}/flaky/2")
            assert response.status_code == 200, method
            assert upstream.count("/flaky/2", method) == 3, method
            upstream.hits.clear()
        for status in (502, 503, 504):
            response = await http.get(f"{upstream.url}/status/{status}")
            assert response.status_code == status
            assert upstream.count(f"/status/{status}") == RETRIES + 1  # then it gives up
        # Other errors are answers, not outages: asked once.
        for status in (500, 404, 429):
            response = await http.get(f"{upstream.url}/status/{status}")
            assert response.status_code == status and upstream.count(f"/status/{status}") == 1


async def test_non_idempotent_calls_are_sent_once(upstream: Upstream) -> None:
    async with client() as http:
        for method in ("POST", "PATCH"):
            response = await http.request(method, f"{upstream.url}/flaky/2", content=b"{}")
            assert response.status_code == 503, method
            assert upstream.count("/flaky/2", method) == 1, method


async def test_retries_back_off_exponentially(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """Waits of 0.4, 0.8 and 1.6 s (factor 0.2) before the three retries, at the top of their
    jitter range. Only lower bounds are checked: a loaded machine makes them longer, never shorter."""
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    async with client() as http:
        response = await http.get(f"{upstream.url}/status/503")
    assert response.status_code == 503
    times = [h.at for h in upstream.hits]
    assert len(times) == RETRIES + 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    for gap, wait in zip(gaps, (0.4, 0.8, 1.6), strict=True):
        assert gap >= wait - 0.05, gaps


@dataclass
class Dropper:
    """A TCP server that reads each request and closes the connection without answering."""

    requests: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            (int(v) for k, _, v in (x.partition(":") for x in lines) if k.lower() == "content-length"), 0
        )
        if length:
            await reader.readexactly(length)
        self.requests.append(lines[0].split(" ", 1)[0])
        writer.close()
        await writer.wait_closed()


@pytest.mark.usefixtures("no_jitter_wait")
async def test_dropped_connections_are_retried_for_idempotent_calls_only() -> None:
    dropper = Dropper()
    server = await asyncio.start_server(dropper.handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with client() as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get(f"{url}/x")
            assert dropper.requests == ["GET"] * (RETRIES + 1)
            dropper.requests.clear()
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(f"{url}/x", content=b"payload")
            assert dropper.requests == ["POST"]
    finally:
        server.close()
        await server.wait_closed()


class CountingTransport(httpx.AsyncBaseTransport):
    """The real transport, counting the attempts the retry layer makes through it."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.attempts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(request.method)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.usefixtures("no_jitter_wait")
async def test_refused_connections_are_retried_for_idempotent_calls_only() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    transport = CountingTransport()
    async with client(transport=transport) as http:
        with pytest.raises(httpx.ConnectError):
            await http.delete(f"{nobody}/x")
        assert transport.attempts == ["DELETE"] * (RETRIES + 1)
        transport.attempts.clear()
        with pytest.raises(httpx.ConnectError):
            await http.post(f"{nobody}/x", json={})
        assert transport.attempts == ["POST"]
