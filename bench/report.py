"""The results table, ratios from paired runs, the issue's goals, and the JSON file."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def paired_ratio(a: dict[str, Any], b: dict[str, Any], metric: str) -> dict[str, Any]:
    """Ratio of system a to b from runs of the same round (same machine state), median and range."""
    ratios = [x / y for x, y in zip(a[metric]["runs"], b[metric]["runs"], strict=True) if y]
    return {
        "median": statistics.median(ratios),
        "min": min(ratios),
        "max": max(ratios),
        "runs": ratios,
    }


# (name, workload, direction, system a, system b, metric, goal or None)
RATIOS: list[tuple[str, str, str, str, str, str, float | None]] = [
    (
        "1 GiB upload raw PUT / SeaweedFS fsync",
        "big",
        "upload",
        "artstore_raw",
        "seaweed_fsync",
        "mib_s",
        1.5,
    ),
    (
        "1 GiB upload multipart / SeaweedFS fsync",
        "big",
        "upload",
        "artstore_multipart",
        "seaweed_fsync",
        "mib_s",
        1.0,
    ),
    (
        "1 GiB upload raw PUT / SeaweedFS default",
        "big",
        "upload",
        "artstore_raw",
        "seaweed_default",
        "mib_s",
        None,
    ),
    ("1 GiB download / SeaweedFS GET", "big", "download", "artstore", "seaweed", "mib_s", 0.75),
    (
        "4 MiB x N upload raw / SeaweedFS fsync",
        "medium",
        "upload",
        "artstore_raw",
        "seaweed_fsync",
        "mib_s",
        None,
    ),
    (
        "4 MiB x N upload multipart / SeaweedFS fsync",
        "medium",
        "upload",
        "artstore_multipart",
        "seaweed_fsync",
        "mib_s",
        None,
    ),
    ("4 MiB x N download / SeaweedFS GET", "medium", "download", "artstore", "seaweed", "mib_s", None),
    (
        "4 KiB upload raw ops / SeaweedFS fsync",
        "small",
        "upload",
        "artstore_raw",
        "seaweed_fsync",
        "ops_s",
        0.5,
    ),
    (
        "4 KiB upload multipart ops / SeaweedFS fsync",
        "small",
        "upload",
        "artstore_multipart",
        "seaweed_fsync",
        "ops_s",
        None,
    ),
    (
        "4 KiB upload raw ops / SeaweedFS default",
        "small",
        "upload",
        "artstore_raw",
        "seaweed_default",
        "ops_s",
        None,
    ),
    ("4 KiB download ops / SeaweedFS GET", "small", "download", "artstore", "seaweed", "ops_s", None),
]


def ratios(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, workload, direction, a, b, metric, goal in RATIOS:
        section = results.get("transfers", {}).get(workload, {}).get(direction, {})
        if a in section and b in section:
            ratio = paired_ratio(section[a], section[b], metric)
            met = None if goal is None else ratio["median"] >= goal
            out.append({"name": name, **ratio, "goal": goal, "met": met})
    return out


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        {"goal": f"{r['name']} >= {r['goal']}", "value": round(r["median"], 3), "met": r["met"]}
        for r in results["ratios"]
        if r["goal"] is not None
    ]
    search = results.get("search", {}).get("mix", {})
    for kind, limit in (("selective", 50), ("filter_only", 50), ("broad", 250)):
        if kind in search and search[kind]["errors"]:
            failed = f"{search[kind]['errors']} of the queries failed"
            out.append({"goal": f"search {kind} p95 <= {limit} ms", "value": failed, "met": False})
        elif kind in search:
            p95 = search[kind]["p95_ms"]
            out.append(
                {"goal": f"search {kind} p95 <= {limit} ms", "value": round(p95, 1), "met": p95 <= limit}
            )
    searchable = results.get("search", {}).get("upload_to_searchable")
    if searchable:
        p95 = searchable["p95_ms"]
        out.append(
            {"goal": "upload to searchable p95 <= 1000 ms", "value": round(p95, 1), "met": p95 <= 1000}
        )
    for name, peak in results.get("rss_during_1gib", {}).get("artstore", {}).items():
        mb = peak / 1e6
        out.append(
            {"goal": f"RSS of {name} < 250 MB (1 GiB transfers)", "value": round(mb, 1), "met": mb < 250}
        )
    return out


def _fmt(x: float) -> str:
    return f"{x:,.1f}" if x >= 10 else f"{x:.3g}"


def table(results: dict[str, Any]) -> str:
    lines = [f"ArtStore vs SeaweedFS ({results['mode']}, {results['started']})", ""]
    for label, ceiling in results.get("ceilings", {}).items():
        lines.append(f"  ceiling {label}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in ceiling.items()))
    cost = results.get("client_cost", {})
    for name in ("aiohttp", "httpx"):
        if name in cost:
            c = cost[name]
            lines.append(
                f"  client {name}: {c['cpu_ms_per_request']:.3f} ms CPU/request, "
                f"{_fmt(c['download_mib_s'])} MiB/s download"
            )
    if cost:
        lines.append(f"  client chosen: {cost['chosen']}")
    lines += [
        "",
        f"  {'workload':<10} {'direction':<9} {'system':<19} {'median':>10} {'unit':<6} {'spread':>7}",
    ]
    for workload, directions in results.get("transfers", {}).items():
        metric = "ops_s" if workload == "small" else "mib_s"
        for direction, systems in directions.items():
            for system, figures in systems.items():
                f = figures[metric]
                lines.append(
                    f"  {workload:<10} {direction:<9} {system:<19} {_fmt(f['median']):>10} "
                    f"{metric.replace('_', '/'):<6} {f['spread']:>6.0%}"
                )
    groups, rows = cpu_rows(results)
    if rows:
        lines += ["", "  CPU ms per operation: " + ", ".join(groups) + ", total"]
        lines += [
            "    " + " ".join(f"{c:>9}" if i > 2 else f"{c:<18}" for i, c in enumerate(row)) for row in rows
        ]
    lines += ["", "  ratios (paired runs: median [min-max])"]
    for r in results.get("ratios", []):
        lines.append(f"    {r['name']:<48} {r['median']:.2f} [{r['min']:.2f}-{r['max']:.2f}]")
    search = results.get("search", {})
    if "mix" in search:
        lines.append("")
        for kind in ("selective", "filter_only", "broad"):
            s = search["mix"].get(kind)
            if s and s["errors"]:
                lines.append(f"  search {kind:<12} {s['errors']} queries failed: {s['first_error']}")
            if s and "p50_ms" in s:
                lines.append(
                    f"  search {kind:<12} n={s['count']:<5} p50={s['p50_ms']:.1f} p95={s['p95_ms']:.1f} "
                    f"p99={s['p99_ms']:.1f} ms  (matches p50 {s['matches_p50']:,.0f})"
                )
    if "upload_to_searchable" in search:
        s = search["upload_to_searchable"]
        lines.append(f"  upload to searchable n={s['count']} p50={s['p50_ms']:.0f} p95={s['p95_ms']:.0f} ms")
    rss = results.get("rss_during_1gib", {})
    if rss:
        lines.append("")
        for group, peaks in rss.items():
            lines.append(
                f"  peak RSS {group}: " + ", ".join(f"{k}={v / 1e6:.0f} MB" for k, v in peaks.items())
            )
    lines += ["", "  goals"]
    for g in results.get("goals", []):
        mark = "met" if g["met"] else "NOT met"
        lines.append(f"    [{mark:>7}] {g['goal']}: {g['value']}")
    return "\n".join(lines)


def cpu_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """CPU milliseconds per operation by process group, one row per workload/direction/system."""
    groups: list[str] = []
    rows: list[list[str]] = []
    for workload, directions in results.get("transfers", {}).items():
        for direction, systems in directions.items():
            for system, figures in systems.items():
                cpu = figures.get("cpu_ms_per_op")
                if not cpu:
                    continue
                groups = groups or list(cpu)
                values = [cpu.get(g, 0.0) for g in groups]
                rows.append([workload, direction, system, *(_fmt(v) for v in values), _fmt(sum(values))])
    return groups, rows


def markdown(results: dict[str, Any]) -> str:
    """The same figures as :func:`table`, as Markdown tables for docs/performance.md."""
    out = [
        f"Run `{results['mode']}` started {results['started']}, sizes `{json.dumps(results['sizes'])}`.",
        "",
    ]
    out += [
        "| workload | direction | system | median | unit | min | max | spread |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for workload, directions in results.get("transfers", {}).items():
        metric = "ops_s" if workload == "small" else "mib_s"
        for direction, systems in directions.items():
            for system, figures in systems.items():
                f = figures[metric]
                unit = metric.replace("_", "/")
                out.append(
                    f"| {workload} | {direction} | {system} | {_fmt(f['median'])} | {unit} "
                    f"| {_fmt(f['min'])} | {_fmt(f['max'])} | {f['spread']:.0%} |"
                )
    out += ["", "| ratio (paired runs) | median | min | max | goal |", "|---|---|---|---|---|"]
    for r in results.get("ratios", []):
        goal = "" if r["goal"] is None else f">= {r['goal']}"
        out.append(f"| {r['name']} | {r['median']:.2f} | {r['min']:.2f} | {r['max']:.2f} | {goal} |")
    groups, rows = cpu_rows(results)
    if rows:
        head = ["workload", "direction", "system", *groups, "total"]
        out += ["", "CPU milliseconds per operation, by process (median of the rounds):", ""]
        out += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
        out += ["| " + " | ".join(row) + " |" for row in rows]
    mix = results.get("search", {}).get("mix", {})
    if mix:
        out += [
            "",
            "| search class | n | p50 ms | p95 ms | p99 ms | matches p50 | errors |",
            "|---|---|---|---|---|---|---|",
        ]
        for kind in ("selective", "filter_only", "broad"):
            s = mix.get(kind)
            if s and "p50_ms" in s:
                out.append(
                    f"| {kind} | {s['count']} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['p99_ms']:.1f} "
                    f"| {s['matches_p50']:,.0f} | {s['errors']} |"
                )
    search = results.get("search", {})
    if "upload_to_searchable" in search:
        s = search["upload_to_searchable"]
        out += [
            "",
            f"Upload to searchable: n={s['count']}, p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms.",
        ]
    if "catalog" in search:
        c = search["catalog"]
        out += [
            "",
            f"Catalog: {c['catalog_rows_total']:,} rows ({c['synthetic_rows']:,} synthetic, loaded at "
            f"{c['rows_per_second']:,.0f} rows/s; {search['real_uploads']['count']:,} real uploads at "
            f"{search['real_uploads']['ops_s']:.0f}/s).",
        ]
    for group, peaks in results.get("rss_during_1gib", {}).items():
        out.append(
            f"\nPeak RSS during the 1 GiB transfers, {group}: "
            + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in peaks.items())
            + "."
        )
    for label, ceiling in results.get("ceilings", {}).items():
        out.append(f"\nCeiling {label}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in ceiling.items()) + ".")
    cost = results.get("client_cost", {})
    if cost:
        out.append(
            "\nClient cost: "
            + "; ".join(
                f"{n} {cost[n]['cpu_ms_per_request']:.3f} ms CPU/request, "
                f"{_fmt(cost[n]['download_mib_s'])} MiB/s"
                for n in ("aiohttp", "httpx")
            )
            + f"; chosen {cost['chosen']}."
        )
    out += ["", "| goal | value | met |", "|---|---|---|"]
    out += [
        f"| {g['goal']} | {g['value']} | {'yes' if g['met'] else 'no'} |" for g in results.get("goals", [])
    ]
    return "\n".join(out) + "\n"


def write(results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{stamp}-{results['mode']}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    path.with_suffix(".md").write_text(markdown(results))
    return path
