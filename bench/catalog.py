"""Synthetic catalog rows for the search benchmark, loaded straight into the query catalog.

How they are loaded: one real upload is made through the ingester and left to reach the
catalog through the change feed; its ``catalog_files`` and ``catalog_copies`` rows are then
the template of ``INSERT ... SELECT ... FROM generate_series(...)`` statements run inside
the query module's Postgres (server-side, in batches), which override the searchable
columns (id, name, description, tags, owner, dates, metadata, the JSON record) and copy
every other column from the template, so a column added to the schema later still gets a
valid value. ``search_vector`` is a generated column: Postgres computes it for each row as
it would for a real one, and the GIN indexes are maintained row by row as in production.
``catalog_file_tags`` gets each row's tags. ``ANALYZE`` runs at the end.

The data is shaped so that the query mix has known selectivity at any size ``n``:

* ``sel<k>`` (in the description), one word per group of :data:`SELECTIVE_GROUP` rows;
* ``tag<k>`` per :data:`TAG_GROUP` rows; owner ``bench-owner-<i % 100>``; one row per
  (day, group) over :data:`DAYS` days; ``metadata.project = p<k>`` per
  :data:`PROJECT_GROUP` rows;
* the broad word ``quarterly`` in every other row (500,000 of 1,000,000).
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

SELECTIVE_GROUP = 200
TAG_GROUP = 500
PROJECT_GROUP = 300
OWNERS = 100
DAYS = 730
BROAD_WORD = "quarterly"
BATCH = 50_000

_CREATED = (
    "timestamptz '2024-01-01 00:00:00+00' + (i % {days}) * interval '1 day' + (i % 86400) * interval '1 s'"
)
# Expressions over ``i`` (the series) and ``t`` (the template row), per catalog_files column.
_FILE_COLUMNS = {
    "file_id": "'00000000-0000-4000-8000-' || lpad(i::text, 12, '0')",
    "original_filename": "'doc_' || i || '_' || (ARRAY['invoice','contract','scan','letter'])[1 + i % 4]"
    " || '.pdf'",
    "description": "'sel' || (i / {sel}) || CASE WHEN i % 2 = 0 THEN ' {broad} report' ELSE ' memo' END",
    "tags": "ARRAY['tag' || (i / {tag}), 'bench']",
    "tags_text": "'tag' || (i / {tag}) || ' bench'",
    "owner_id": "'bench-owner-' || (i % {owners})",
    "owner_username": "'bench-owner-' || (i % {owners})",
    "metadata": "jsonb_build_object('project', 'p' || (i / {project}), 'dept', 'd' || (i % 7))",
    "metadata_text": "'p' || (i / {project}) || ' d' || (i % 7)",
    "created_at": _CREATED,
    "updated_at": _CREATED,
}
_RECORD_KEYS = ("file_id", "original_filename", "description", "tags", "metadata", "created_at", "updated_at")


def _exprs() -> dict[str, str]:
    params = {
        "sel": SELECTIVE_GROUP,
        "tag": TAG_GROUP,
        "project": PROJECT_GROUP,
        "owners": OWNERS,
        "days": DAYS,
        "broad": BROAD_WORD,
    }
    return {name: expr.format(**params) for name, expr in _FILE_COLUMNS.items()}


def _record_expr(exprs: dict[str, str]) -> str:
    pairs = ", ".join(f"'{k}', {exprs[k]}" for k in _RECORD_KEYS)
    who = f"'id', {exprs['owner_id']}, 'username', {exprs['owner_username']}, 'kind', 'user'"
    owner = f"jsonb_build_object({who})"
    return f"t.record || jsonb_build_object({pairs}, 'owner', {owner})"


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
        "AND is_generated = 'NEVER' ORDER BY ordinal_position",
        table,
    )
    return [r["column_name"] for r in rows]


async def load(dsn: dict[str, Any], template_id: str, rows: int) -> dict[str, Any]:
    """Insert ``rows`` synthetic files modelled on ``template_id``; returns timings."""
    conn = await asyncpg.connect(**dsn)
    try:
        exprs = _exprs()
        file_cols = await _columns(conn, "catalog_files")
        copy_cols = await _columns(conn, "catalog_copies")
        select_files = ", ".join(
            _record_expr(exprs) if c == "record" else exprs.get(c, f"t.{c}") for c in file_cols
        )
        copy_exprs = {"file_id": exprs["file_id"], "record": _record_expr(exprs)}
        select_copies = ", ".join(copy_exprs.get(c, f"t.{c}") for c in copy_cols)
        started = time.perf_counter()
        for low in range(0, rows, BATCH):
            high = min(rows, low + BATCH) - 1
            series = f"generate_series({low}, {high}) AS i"
            await conn.execute(
                f"INSERT INTO catalog_files ({', '.join(file_cols)}) SELECT {select_files} "  # noqa: S608
                f"FROM {series}, catalog_files t WHERE t.file_id = $1",
                template_id,
            )
            await conn.execute(
                f"INSERT INTO catalog_copies ({', '.join(copy_cols)}) SELECT {select_copies} "  # noqa: S608
                f"FROM {series}, catalog_copies t WHERE t.file_id = $1",
                template_id,
            )
            await conn.execute(
                "INSERT INTO catalog_file_tags (file_id, tag) "  # noqa: S608
                f"SELECT {exprs['file_id']}, tag FROM {series}, "
                f"unnest(ARRAY['tag' || (i / {TAG_GROUP}), 'bench']) AS tag"
            )
        inserted = time.perf_counter() - started
        await conn.execute("ANALYZE catalog_files; ANALYZE catalog_copies; ANALYZE catalog_file_tags")
        total = await conn.fetchval("SELECT count(*) FROM catalog_files")
    finally:
        await conn.close()
    return {
        "synthetic_rows": rows,
        "catalog_rows_total": int(total),
        "insert_seconds": inserted,
        "rows_per_second": rows / inserted if inserted else 0.0,
        "method": "INSERT ... SELECT from generate_series, modelled on a real catalog row, then ANALYZE",
    }
