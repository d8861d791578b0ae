"""Prometheus metrics of the query module, in the app's own registry (``/metrics``)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge


class QueryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.feed_applied = Counter(
            "artstore_query_feed_changes_applied_total",
            "Change-feed items applied",
            ["se_id"],
            registry=registry,
        )
        self.feed_errors = Counter(
            "artstore_query_feed_errors_total", "Failed change-feed pulls", ["se_id"], registry=registry
        )
        self.feed_last_success = Gauge(
            "artstore_query_feed_last_success_timestamp_seconds",
            "When the SE's feed was last pulled to the end",
            ["se_id"],
            registry=registry,
        )
        self.download_bytes = Counter(
            "artstore_query_download_bytes_total", "Bytes sent to clients", ["se_id"], registry=registry
        )
        self.checksum_mismatches = Counter(
            "artstore_query_download_checksum_mismatches_total",
            "Full downloads aborted on a sha256 mismatch",
            ["se_id"],
            registry=registry,
        )
        self.last_success: dict[str, float] = {}

    def pulled(self, se_id: str, applied: int) -> None:
        if applied:
            self.feed_applied.labels(se_id).inc(applied)
        now = time.time()
        self.last_success[se_id] = now
        self.feed_last_success.labels(se_id).set(now)
