"""From SE feed records to the API file record (API.md "The file record").

Pure functions, no I/O. An SE's ``upsert`` carries that SE's record of its copy; the
catalog keeps one copy row per ``(file_id, se_id)`` and assembles the file record from
them (ARCHITECTURE.md section 2.4):

* attributes come from the copy with the highest ``revision``, then ``updated_at``
  (then the SE id, so that equal copies always pick the same winner);
* ``copies[]`` lists every copy with its SE mode and state (``archived`` when the SE is
  in ``ar`` mode);
* downloads use the preferred copy: committed on ``rw``/``ro``, then ``edit``, then a
  pending copy; corrupt and archived copies only when nothing else exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ATTRIBUTES = (
    "file_id",
    "original_filename",
    "size",
    "content_type",
    "sha256",
    "owner",
    "description",
    "tags",
    "metadata",
    "retention_policy",
    "expires_at",
    "retain_until",
    "legal_hold",
    "revision",
    "created_at",
    "updated_at",
    "related",
)
COPY_STATES = ("committed", "pending", "corrupt")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not value:
        return EPOCH
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def copy_state(record: dict[str, Any], se_id: str) -> str:
    """The state of this SE's copy: ``state``, else ``copy_state``, else its ``copies`` entry."""
    state = record.get("state") or record.get("copy_state")
    if not state:
        for entry in record.get("copies") or []:
            if entry.get("storage_element_id") == se_id:
                state = entry.get("state")
    return str(state) if state in COPY_STATES else "committed"


def normalize(record: dict[str, Any]) -> dict[str, Any]:
    """The file attributes of one SE record, retention flattened as the API shows it."""
    flat = dict(record)
    retention = flat.get("retention")
    if isinstance(retention, dict):
        flat.setdefault("retention_policy", retention.get("policy"))
        flat.setdefault("expires_at", retention.get("expires_at"))
        flat.setdefault("retain_until", retention.get("retain_until"))
        flat.setdefault("legal_hold", retention.get("legal_hold"))
    owner = flat.get("owner") or {}
    out: dict[str, Any] = {key: flat.get(key) for key in ATTRIBUTES if key in flat or key != "related"}
    out["file_id"] = str(flat["file_id"])
    out["original_filename"] = str(flat.get("original_filename") or "")
    out["size"] = int(flat.get("size") or 0)
    out["content_type"] = str(flat.get("content_type") or "application/octet-stream")
    out["sha256"] = str(flat.get("sha256") or "")
    out["owner"] = {
        "id": str(owner.get("id", "")),
        "username": str(owner.get("username", "")),
        "kind": str(owner.get("kind", "user")),
    }
    out["description"] = str(flat.get("description") or "")
    out["tags"] = [str(t) for t in flat.get("tags") or []]
    out["metadata"] = dict(flat.get("metadata") or {})
    out["retention_policy"] = str(flat.get("retention_policy") or "temporary")
    out["legal_hold"] = bool(flat.get("legal_hold"))
    out["revision"] = int(flat.get("revision") or 1)
    return out


@dataclass(frozen=True)
class Copy:
    se_id: str
    state: str  # committed | pending | corrupt, as the SE reports it
    se_mode: str
    revision: int
    updated_at: datetime

    @property
    def effective_state(self) -> str:
        """What the API shows: a committed copy on an ``ar`` SE is ``archived``."""
        return "archived" if self.se_mode == "ar" and self.state == "committed" else self.state

    @property
    def preference(self) -> tuple[int, str]:
        state = self.effective_state
        if state == "committed":
            rank = 0 if self.se_mode in ("rw", "ro") else 1
        else:
            rank = {"pending": 2, "archived": 3, "corrupt": 4}.get(state, 5)
        return rank, self.se_id

    @property
    def downloadable(self) -> bool:
        return self.effective_state in ("committed", "pending")


def winner_key(revision: int, updated_at: datetime, se_id: str) -> tuple[int, datetime, str]:
    return revision, updated_at, se_id


def ordered_copies(copies: list[Copy]) -> list[Copy]:
    return sorted(copies, key=lambda c: c.preference)


def status_of(copies: list[Copy]) -> str:
    states = {c.effective_state for c in copies}
    if states & {"committed", "pending"}:
        return "available"
    if "archived" in states:
        return "archived"
    return "corrupt"


def assemble(attributes: dict[str, Any], copies: list[Copy]) -> dict[str, Any]:
    """The API file record: the winner's attributes plus ``copies``, preferred copy, status."""
    ordered = ordered_copies(copies)
    record = dict(attributes)
    record["storage_element_id"] = ordered[0].se_id if ordered else None
    record["copies"] = [
        {"storage_element_id": c.se_id, "mode": c.se_mode, "state": c.effective_state} for c in ordered
    ]
    record["status"] = status_of(ordered) if ordered else "corrupt"
    return record


def search_text(attributes: dict[str, Any]) -> tuple[str, str]:
    """The tags and the metadata values as plain text for the generated ``tsvector``."""
    tags = " ".join(attributes.get("tags") or [])
    values: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None and not isinstance(value, bool):
            values.append(str(value))

    walk(attributes.get("metadata") or {})
    return tags, " ".join(values)
