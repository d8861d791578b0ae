"""Medians, spread and percentiles of repeated measurements."""

from __future__ import annotations

import math
import statistics
from typing import Any


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, Any]:
    """Median of repeated runs plus their spread (min, max, relative spread)."""
    median = statistics.median(values)
    spread = (max(values) - min(values)) / median if median else 0.0
    return {
        "median": median,
        "min": min(values),
        "max": max(values),
        "spread": spread,
        "runs": values,
    }


def latency(values: list[float]) -> dict[str, float]:
    """Latency percentiles in milliseconds from seconds."""
    ms = [v * 1000 for v in values]
    return {
        "count": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
    }
