"""``make bench``: ArtStore and SeaweedFS measured side by side on one machine (issue 10).

``python -m bench.run`` starts everything it needs, measures, prints a table of figures and
ratios, and writes JSON under ``bench/results/``. ``python -m bench.run --smoke`` does the
same with tiny sizes in a few seconds. Sizes scale with ``ARTSTORE_BENCH_SCALE`` and the
other ``ARTSTORE_BENCH_*`` variables in :mod:`bench.config`.
"""
