"""The hash chain: each row's ``hash`` is SHA-256 over its canonical form and ``prev_hash``.

Editing a row breaks its own hash; deleting or inserting one breaks the next row's
``prev_hash``. The canonical form is sorted-key JSON of the stored fields, with times in
UTC ISO 8601, so it can be recomputed from the table alone.

The end of the chain has no next row to betray it, so the newest link (seq and hash) is
also kept in ``audit_chain_head`` with an HMAC under a key derived from the key-encryption
key. Someone who can write the database but does not hold that key can neither remove the
newest rows nor append well-chained rows without the head giving it away.
"""

from __future__ import annotations

import hashlib
import hmac
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


def head_key(kek: str) -> bytes:
    """The chain head's MAC key, derived from (and never equal to) the key-encryption key."""
    return hmac.new(kek.encode(), b"artstore audit chain head v1", hashlib.sha256).digest()


def head_mac(key: bytes, seq: int, hash_: str) -> str:
    return hmac.new(key, f"{seq}:{hash_}".encode(), hashlib.sha256).hexdigest()


def head_is_authentic(key: bytes, seq: int, hash_: str, mac: str) -> bool:
    return hmac.compare_digest(head_mac(key, seq, hash_), mac)
