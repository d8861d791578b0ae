"""CPU time spent by each process group during a measured run, read from ``/proc``.

On a 2-core machine the CPU that one operation costs across every process it touches
(client, ingester, SE, query module, admin, Postgres; or ``weed``) bounds the operations
per second: at most ``2 s / (CPU seconds per operation)``. Groups are re-listed at the end
of a run so Postgres backends forked meanwhile are counted (one that exited is not).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
Groups = Callable[[], dict[str, list[int]]]


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


class Meter:
    """``start()`` then ``stop()``: CPU seconds per group in between."""

    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self._before: dict[int, float] = {}

    def start(self) -> None:
        self._before = {pid: cpu_seconds(pid) for pids in self.groups().values() for pid in pids}

    def stop(self) -> dict[str, float]:
        return {
            name: sum(cpu_seconds(pid) - self._before.get(pid, 0.0) for pid in pids)
            for name, pids in self.groups().items()
        }
