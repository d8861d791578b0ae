"""OpenTelemetry: spans for every request, W3C trace context in and out.

An OTLP exporter is attached only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; otherwise
spans still exist (so logs carry trace and span ids and outgoing calls carry
``traceparent``) but are not exported.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_provider: TracerProvider | None = None


def configure_tracing(service: str) -> TracerProvider:
    """Install one tracer provider per process (idempotent: tests build many apps)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": service}))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(_provider)
    return _provider


def instrument_app(app: FastAPI, service: str) -> None:
    provider = configure_tracing(service)
    # One span per request. The per-message spans of ASGI ``send``/``receive`` are left
    # out: a 1 GiB body in 1 MiB pieces made a thousand child spans, each measurable on
    # the transfer paths (docs/performance.md), and no trace reader needs them.
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="health/live,health/ready,metrics",
        exclude_spans=["send", "receive"],
    )
