"""Search latency for the issue's fixed query mix, and time from upload to searchable.

The mix (deterministic for a seed): 70% selective full-text queries (a ``sel<k>`` word:
about 200 matches, or ~50 with a second word), 20% filter-only queries (a tag, an owner,
a one-day date range, a metadata key, in turn), 10% broad full-text queries (the word in
every other row). Each class is reported separately, with the ``total`` the API answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import string
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import catalog, payload
from bench.client import ArtStore, Failed
from bench.stats import latency, percentile
from bench.transfers import run_many

Query = tuple[str, list[tuple[str, str]]]


def query_mix(rows: int, count: int, seed: int = 10) -> list[Query]:
    rng = random.Random(seed)
    groups = max(1, rows // catalog.SELECTIVE_GROUP)
    queries: list[Query] = []
    for n in range(count):
        roll = n % 10
        if roll < 7:
            word = f"sel{rng.randrange(groups)}"
            text = word if rng.random() < 0.5 else f"{word} {rng.choice(['invoice', 'contract', 'scan'])}"
            queries.append(("selective", [("q", text)]))
        elif roll < 9:
            queries.append(("filter_only", _filter(rng, rows, n)))
        else:
            queries.append(
                ("broad", [("q", rng.choice([catalog.BROAD_WORD, f"{catalog.BROAD_WORD} report"]))])
            )
    rng.shuffle(queries)
    return queries


def _filter(rng: random.Random, rows: int, n: int) -> list[tuple[str, str]]:
    kind = (n // 10) % 4
    if kind == 0:
        return [("tag", f"tag{rng.randrange(max(1, rows // catalog.TAG_GROUP))}")]
    if kind == 1:
        return [("owner", f"bench-owner-{rng.randrange(catalog.OWNERS)}")]
    if kind == 2:
        day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(catalog.DAYS))
        return [("created_from", day.isoformat()), ("created_to", (day + timedelta(days=1)).isoformat())]
    return [("meta.project", f"p{rng.randrange(max(1, rows // catalog.PROJECT_GROUP))}")]


async def run_mix(store: ArtStore, queries: list[Query], concurrency: int) -> dict[str, Any]:
    """Run the mix; a failing query is counted (with its first error) rather than ending the run."""
    for _, params in queries[:20]:  # warm-up: connections, plans, caches
        with contextlib.suppress(Failed):
            await store.search(params)
    await store.fresh_token()

    async def op(i: int) -> tuple[int, bool] | str:
        try:
            page = await store.search(queries[i][1])
        except Failed as exc:
            return str(exc)[:300]
        return int(page["total"]), bool(page.get("total_is_estimate"))

    seconds, latencies, outcomes = await run_many(len(queries), concurrency, op)
    out: dict[str, Any] = {"queries": len(queries), "seconds": seconds, "concurrency": concurrency}
    for kind in ("selective", "filter_only", "broad"):
        idx = [i for i, (k, _) in enumerate(queries) if k == kind]
        good = [i for i in idx if not isinstance(outcomes[i], str)]
        errors = [outcomes[i] for i in idx if isinstance(outcomes[i], str)]
        entry: dict[str, Any] = {"errors": len(errors), "first_error": errors[0] if errors else None}
        if good:
            matched = [float(outcomes[i][0]) for i in good]
            entry |= {
                **latency([latencies[i] for i in good]),
                "matches_p50": percentile(matched, 50),
                "matches_min": min(matched),
                "matches_max": max(matched),
                "estimated_share": sum(outcomes[i][1] for i in good) / len(good),
            }
        if idx:
            out[kind] = entry
    return out


async def upload_real(store: ArtStore, count: int, concurrency: int) -> dict[str, Any]:
    """``count`` real 4 KiB uploads with searchable fields, for the catalog's real part."""

    async def op(i: int) -> str:
        desc = f"real upload batch{i // 200}" + (f" {catalog.BROAD_WORD}" if i % 2 == 0 else "")
        record = await store.put_raw_fields(
            f"real_{i}.txt", payload.small(4096, 7_000_000 + i), 4096, description=desc, tags=["real"]
        )
        return str(record["file_id"])

    seconds, latencies, ids = await run_many(count, concurrency, op)
    return {"count": count, "ops_s": count / seconds, "latency": latency(latencies), "ids": ids}


async def wait_searchable(store: ArtStore, params: list[tuple[str, str]], within: float = 60) -> float:
    """Poll search every 10 ms until it finds something; returns the monotonic time it did."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        page = await store.search(params)
        if page["total"] > 0:
            return time.perf_counter()
        await asyncio.sleep(0.01)
    raise TimeoutError(f"not searchable after {within}s: {params}")


async def upload_to_searchable(store: ArtStore, samples: int) -> dict[str, Any]:
    delays: list[float] = []
    for n in range(samples):
        word = "zq" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))
        await store.put_raw_fields(
            f"fresh_{n}.txt", payload.small(4096, 9_000_000 + n), 4096, description=word
        )
        acknowledged = time.perf_counter()
        found = await wait_searchable(store, [("q", word)])
        delays.append(found - acknowledged)
    return latency(delays)
