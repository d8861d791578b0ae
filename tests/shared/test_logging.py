"""JSON logs as a service writes them: one object per line with service, request id and trace
context; the request id is taken from ``X-Request-ID`` (or made) and echoed."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.logging import JsonFormatter
from tests.shared.conftest import PROBE_LOGGER, preserved_logging, probe_app, serve
from tests.support.waiting import eventually

SERVICE = "probe_service"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


@dataclass
class Probe:
    client: httpx.AsyncClient
    stream: io.StringIO

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def probe_events(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == "probe_event"]


@pytest.fixture
async def probe() -> AsyncIterator[Probe]:
    with preserved_logging():
        app = probe_app(SERVICE, log_level="INFO")
        # build_app installed one JSON handler on the root logger; read what it writes.
        handlers = logging.getLogger().handlers
        assert len(handlers) == 1 and isinstance(handlers[0].formatter, JsonFormatter)
        handler = handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        stream = io.StringIO()
        handler.setStream(stream)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Probe(client, stream)


async def test_a_log_line_during_a_request_carries_its_context(probe: Probe) -> None:
    response = await probe.client.get("/probe", headers={"X-Request-ID": "req-logging-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-logging-1"
    [line] = probe.probe_events()
    assert line["service"] == SERVICE
    assert line["logger"] == PROBE_LOGGER and line["level"] == "info"
    assert line["request_id"] == "req-logging-1"
    assert HEX32.match(line["trace_id"]) and int(line["trace_id"], 16) != 0, line
    assert HEX16.match(line["span_id"]) and int(line["span_id"], 16) != 0, line
    assert line["answer"] == 42  # extra fields land in the object
    assert line["ts"].endswith("+00:00")


async def test_the_trace_id_continues_the_callers_trace(probe: Probe) -> None:
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = await probe.client.get(
        "/probe", headers={"traceparent": f"00-{trace_id}-{parent}-01", "X-Request-ID": "req-trace"}
    )
    assert response.status_code == 200
    [line] = probe.probe_events()
    assert line["trace_id"] == trace_id
    assert HEX16.match(line["span_id"]) and line["span_id"] != parent  # the server's own span


async def test_each_request_has_its_own_ids(probe: Probe) -> None:
    for request_id in ("req-a", "req-b"):
        assert (await probe.client.get("/probe", headers={"X-Request-ID": request_id})).status_code == 200
    first, second = probe.probe_events()
    assert (first["request_id"], second["request_id"]) == ("req-a", "req-b")
    assert first["trace_id"] != second["trace_id"] and first["span_id"] != second["span_id"]
    # Outside a request there is no request id and no trace.
    logging.getLogger(PROBE_LOGGER).info("probe_event", extra={"answer": 0})
    outside = probe.probe_events()[-1]
    assert outside["request_id"] is None and "trace_id" not in outside and "span_id" not in outside


async def test_a_request_id_is_generated_when_absent_or_unusable(probe: Probe) -> None:
    response = await probe.client.get("/probe")
    generated = response.headers["x-request-id"]
    assert HEX32.match(generated)
    for unusable in ("has spaces in it", "x" * 129, "semi;colon"):
        replaced = (await probe.client.get("/probe", headers={"X-Request-ID": unusable})).headers
        assert replaced["x-request-id"] != unusable and HEX32.match(replaced["x-request-id"])
        assert len(replaced.get_list("x-request-id")) == 1
    events = probe.probe_events()
    assert events[0]["request_id"] == generated
    assert len({e["request_id"] for e in events}) == 4  # a fresh id each time
    # Error responses carry the id too, in the header and in the problem document.
    denied = await probe.client.get("/probe/denied", headers={"X-Request-ID": "req-denied"})
    assert denied.status_code == 401
    assert denied.headers["x-request-id"] == "req-denied" and denied.json()["request_id"] == "req-denied"


async def test_an_unexpected_error_is_logged_and_answered_with_the_request_id(probe: Probe) -> None:
    response = await probe.client.get("/probe/broken", headers={"X-Request-ID": "req-broken"})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error" and "probe failure" not in response.text
    # The one id an operator gets from a user who saw a 500 must lead to the log line.
    assert body["request_id"] == "req-broken"
    assert response.headers["x-request-id"] == "req-broken"
    [line] = [e for e in probe.lines() if e.get("event") == "unhandled_error"]
    assert line["level"] == "error" and line["service"] == SERVICE
    assert line["request_id"] == "req-broken"
    assert HEX32.match(line["trace_id"]) and "RuntimeError: probe failure" in line["exception"]
    # The 500 is an ordinary answer to the middleware: the request metrics count it.
    metrics = (await probe.client.get("/metrics")).text
    counted = f'{{method="GET",route="/probe/broken",service="{SERVICE}",status="500"}} 1.0'
    assert "artstore_http_requests_total" + counted in metrics, metrics


async def test_a_client_that_goes_away_mid_body_is_no_internal_error(probe: Probe) -> None:
    url = probe.client.base_url
    _, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        f"POST /probe/upload HTTP/1.1\r\nHost: {url.host}\r\nContent-Length: 1000000\r\n\r\n".encode()
        + b"x" * 1000
    )
    await writer.drain()
    writer.close()  # 1,000 of the 1,000,000 bytes it announced
    await writer.wait_closed()

    async def counted() -> str:
        metrics = (await probe.client.get("/metrics")).text
        return metrics if 'route="/probe/upload"' in metrics else ""

    metrics = await eventually(counted, timeout=30)
    labels = f'{{method="POST",route="/probe/upload",service="{SERVICE}",status="400"}} 1.0'
    assert "artstore_http_requests_total" + labels in metrics, metrics
    assert 'status="500"' not in metrics
    events = [line["event"] for line in probe.lines()]
    assert "client_disconnected" in events and "unhandled_error" not in events
    # A whole body is read as before.
    whole = await probe.client.post("/probe/upload", content=b"y" * 5000)
    assert whole.status_code == 200 and whole.json() == {"bytes": 5000}
