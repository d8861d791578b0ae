"""One server span per request: no per-message send/receive spans (shared.tracing)."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.tracing import configure_tracing
from tests.shared.conftest import preserved_logging, probe_app


async def test_a_streamed_request_makes_one_span() -> None:
    exporter = InMemorySpanExporter()
    configure_tracing("probe_service").add_span_processor(SimpleSpanProcessor(exporter))
    with preserved_logging():
        app = probe_app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def body():  # type: ignore[no-untyped-def]
                for _ in range(50):
                    yield b"x" * 1024

            response = await client.post("/probe/upload", content=body())
    assert response.json() == {"bytes": 50 * 1024}
    spans = [s for s in exporter.get_finished_spans() if s.attributes and "upload" in str(s.name)]
    assert [s.name for s in spans] == ["POST /probe/upload"], [s.name for s in exporter.get_finished_spans()]
    assert spans[0].kind.name == "SERVER"
