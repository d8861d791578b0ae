"""Finding the storage elements (ARCHITECTURE.md section 5).

The admin module publishes a versioned snapshot of the SE registry to Redis (key
``artstore:discovery:storage-elements``, announced on channel
``artstore:discovery:changes``) and serves the same snapshot at
``GET /internal/v1/storage-elements``. Consumers (ingester, query) ask a discovery object
two questions: "writable SEs of mode M, by priority" and "SE by id".

:class:`StaticDiscovery` answers them from a fixed list (tests, single-node setups);
the Redis-backed client with the admin fallback lives beside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

SNAPSHOT_KEY = "artstore:discovery:storage-elements"
SNAPSHOT_CHANNEL = "artstore:discovery:changes"
# Storage elements announce committed changes here: {"se_id", "seq", "op", "feed_epoch"}.
SE_CHANGES_CHANNEL = "artstore:se-changes"

WRITABLE_MODES = {"edit", "rw"}


@dataclass(frozen=True)
class StorageElementInfo:
    id: str
    name: str
    url: str
    mode: str
    status: str = "online"  # online | degraded | offline
    priority: int = 100
    capacity_total: int = 0
    capacity_free: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StorageElementInfo:
        capacity = raw.get("capacity") or {}
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name") or raw["id"]),
            url=str(raw["url"]).rstrip("/"),
            mode=str(raw.get("mode", "rw")),
            status=str(raw.get("status", "online")),
            priority=int(raw.get("priority", 100)),
            capacity_total=int(capacity.get("total", 0) or 0),
            capacity_free=int(capacity.get("free", 0) or 0),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "mode": self.mode,
            "status": self.status,
            "priority": self.priority,
            "capacity": {"total": self.capacity_total, "free": self.capacity_free},
        }


class Discovery(Protocol):
    def all(self) -> list[StorageElementInfo]: ...

    def get(self, se_id: str) -> StorageElementInfo | None: ...

    def writable(self, mode: str, min_free: int = 0) -> list[StorageElementInfo]: ...


def select_writable(
    ses: Iterable[StorageElementInfo], mode: str, min_free: int = 0
) -> list[StorageElementInfo]:
    """Online SEs of ``mode`` with room for ``min_free`` bytes, lowest priority number first.

    A capacity of 0 means "unknown" (not yet polled): such an SE is kept, and its own
    507 moves the upload on.
    """
    fits = [
        se
        for se in ses
        if se.mode == mode
        and se.status == "online"
        and (se.capacity_total == 0 or se.capacity_free >= min_free)
    ]
    return sorted(fits, key=lambda se: (se.priority, se.id))


class StaticDiscovery:
    """A fixed set of SEs; ``replace`` swaps it (tests use that to simulate changes)."""

    def __init__(self, ses: Iterable[StorageElementInfo] = ()) -> None:
        self._ses = {se.id: se for se in ses}
        self.version = 0

    def replace(self, ses: Iterable[StorageElementInfo]) -> None:
        self._ses = {se.id: se for se in ses}
        self.version += 1

    def all(self) -> list[StorageElementInfo]:
        return list(self._ses.values())

    def get(self, se_id: str) -> StorageElementInfo | None:
        return self._ses.get(se_id)

    def writable(self, mode: str, min_free: int = 0) -> list[StorageElementInfo]:
        return select_writable(self._ses.values(), mode, min_free)
