"""Unit tests of the harness's own arithmetic (the end-to-end check is ``bench.run --smoke``).

Run with ``.venv/bin/pytest bench/tests -q`` (outside ``tests/``: ``make test`` skips them
with the rest of the benchmark).
"""

from __future__ import annotations

from collections import Counter

from bench import catalog, config, search
from bench.report import paired_ratio
from bench.stats import percentile, summary


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0


def test_summary_reports_median_and_spread() -> None:
    s = summary([10.0, 12.0, 8.0])
    assert s["median"] == 10.0
    assert s["spread"] == 0.4


def test_ratio_pairs_runs_of_the_same_round() -> None:
    a = {"mib_s": {"runs": [100.0, 50.0, 80.0]}}
    b = {"mib_s": {"runs": [50.0, 50.0, 40.0]}}
    ratio = paired_ratio(a, b, "mib_s")
    assert ratio["runs"] == [2.0, 1.0, 2.0]
    assert ratio["median"] == 2.0
    assert ratio["min"] == 1.0


def test_scale_and_overrides() -> None:
    sizes = config.load(env={"ARTSTORE_BENCH_SCALE": "0.1", "ARTSTORE_BENCH_REPEATS": "5"})
    assert sizes.big_mib == 102
    assert sizes.small_count == 200
    assert sizes.catalog_rows == 100_000
    assert sizes.small_kib == 4  # shapes stay as the issue says; only amounts scale
    assert sizes.repeats == 5
    assert config.load(smoke=True, env={}).big_mib == config.SMOKE.big_mib


def test_query_mix_has_the_issue_proportions() -> None:
    queries = search.query_mix(1_000_000, 1000)
    assert Counter(kind for kind, _ in queries) == {"selective": 700, "filter_only": 200, "broad": 100}
    filters = Counter(params[0][0] for kind, params in queries if kind == "filter_only")
    assert set(filters) == {"tag", "owner", "created_from", "meta.project"}
    groups = 1_000_000 // catalog.SELECTIVE_GROUP
    for kind, params in queries:
        if kind == "selective":
            word = params[0][1].split()[0]
            assert word.startswith("sel") and int(word[3:]) < groups
