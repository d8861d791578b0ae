"""Capacity: the configured quota and the medium's real free space, minus the uploads in
flight. A reservation is taken before the body is read and released (or shrunk to the
real size) at commit, so two concurrent uploads can never both be promised the last bytes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from storage_element.errors import InsufficientStorage
from storage_element.storage.backends.base import Backend

UNBOUNDED = 2**62


@dataclass
class Reservation:
    nbytes: int
    released: bool = False


class Capacity:
    def __init__(self, backend: Backend, *, quota: int, warning: float, critical: float) -> None:
        self.backend = backend
        self.quota = quota
        self.warning, self.critical = warning, critical
        self.used = 0
        self.reserved = 0
        self._lock = asyncio.Lock()

    async def snapshot(self) -> dict[str, Any]:
        disk_free = await self.backend.free_bytes()
        if self.quota <= 0 and disk_free is None:  # S3 without a quota: no limit we can know
            return {
                "total": 0,
                "used": self.used,
                "free": UNBOUNDED,
                "reserved": self.reserved,
                "state": "ok",
                "warning_ratio": self.warning,
                "critical_ratio": self.critical,
            }
        total = self.quota if self.quota > 0 else self.used + (disk_free or 0)
        free = max(0, total - self.used - self.reserved)
        if disk_free is not None:
            free = max(0, min(free, disk_free - self.reserved))
        ratio = (self.used + self.reserved) / total if total else 0.0
        state = "critical" if ratio >= self.critical else "warning" if ratio >= self.warning else "ok"
        return {
            "total": total,
            "used": self.used,
            "free": free,
            "reserved": self.reserved,
            "state": state,
            "warning_ratio": self.warning,
            "critical_ratio": self.critical,
        }

    async def reserve(self, nbytes: int) -> Reservation:
        async with self._lock:
            snap = await self.snapshot()
            if nbytes > snap["free"]:
                raise InsufficientStorage(f"{nbytes} bytes do not fit; {snap['free']} free")
            self.reserved += nbytes
            return Reservation(nbytes)

    def release(self, reservation: Reservation, *, committed: int = 0) -> None:
        if reservation.released:
            return
        reservation.released = True
        self.reserved -= reservation.nbytes
        self.used += committed

    def freed(self, nbytes: int) -> None:
        self.used = max(0, self.used - nbytes)
