"""Benchmark sizes: the issue's full sizes, scaled by environment variables.

``ARTSTORE_BENCH_SCALE`` (default 1.0) multiplies every size and count; each figure can
also be set on its own (``ARTSTORE_BENCH_BIG_MIB``, ``ARTSTORE_BENCH_MEDIUM_COUNT``, ...,
see :func:`load`). ``--smoke`` picks tiny sizes that run in seconds.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    big_mib: int = 1024  # one large upload and download
    medium_count: int = 256
    medium_kib: int = 4096
    medium_concurrency: int = 8
    small_count: int = 2000
    small_kib: int = 4
    small_concurrency: int = 16
    repeats: int = 3  # alternating measured runs per workload and system
    catalog_rows: int = 1_000_000  # synthetic catalog rows
    catalog_real: int = 100_000  # real uploads in the catalog (small files, raw PUT)
    search_queries: int = 1000  # per mix run
    search_concurrency: int = 1
    searchable_samples: int = 50
    port_offset: int = 500

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SMOKE = Sizes(
    big_mib=8,
    medium_count=8,
    medium_kib=256,
    medium_concurrency=4,
    small_count=40,
    small_kib=4,
    small_concurrency=8,
    repeats=1,
    catalog_rows=2000,
    catalog_real=20,
    search_queries=40,
    searchable_samples=3,
)

_SCALED = {
    "big_mib",
    "medium_count",
    "small_count",
    "catalog_rows",
    "catalog_real",
    "search_queries",
    "searchable_samples",
}


def load(smoke: bool = False, env: dict[str, str] | None = None) -> Sizes:
    """The sizes for this run: the smoke or full preset, scaled, then per-figure overrides."""
    env = dict(os.environ) if env is None else env
    base = SMOKE if smoke else Sizes()
    scale = float(env.get("ARTSTORE_BENCH_SCALE", "1.0"))
    values: dict[str, Any] = {}
    for field in fields(Sizes):
        value = getattr(base, field.name)
        if field.name in _SCALED and scale != 1.0:
            value = max(1, round(value * scale))
        override = env.get(f"ARTSTORE_BENCH_{field.name.upper()}")
        values[field.name] = int(override) if override else value
    return Sizes(**values)
