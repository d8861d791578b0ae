"""The hash chain: each row's ``hash`` is SHA-256 over its canonical form and ``prev_hash``.

Editing a row breaks its own hash; deleting or inserting one breaks the next row's
``prev_hash``. The canonical form is sorted-key JSON of the stored fields, with times in
UTC ISO 8601, so it can be recomputed from the table alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

CHAINED_FIELDS = (
    "seq",
    "id",
    "occurred_at",
    "recorded_at",
    "service",
    "actor_id",
    "actor_username",
    "actor_kind",
    "action",
    "target",
    "outcome",
    "client_ip",
    "user_agent",
    "request_id",
    "details",
    "submitted_by",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if value is None or isinstance(value, (str, int, float, bool, dict, list)):
        return value
    return str(value)


def row_hash(row: Mapping[str, Any], prev_hash: str) -> str:
    canonical = {name: _plain(row[name]) for name in CHAINED_FIELDS}
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + "\n" + payload).encode()).hexdigest()
