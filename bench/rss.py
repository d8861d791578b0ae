"""Peak resident memory of processes while a workload runs, read from ``/proc``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path


def rss_bytes(pid: int) -> int:
    """Current resident set size of one process (VmRSS), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


class PeakRss:
    """Samples VmRSS of each named process every ``interval`` seconds; keeps the peak.

    Used as ``async with PeakRss(pids) as peak: ...``; ``peak.peaks`` maps name to bytes.
    """

    def __init__(self, pids: dict[str, int], interval: float = 0.05) -> None:
        self.pids = pids
        self.interval = interval
        self.peaks = {name: rss_bytes(pid) for name, pid in pids.items()}
        self.before = dict(self.peaks)
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            for name, pid in self.pids.items():
                self.peaks[name] = max(self.peaks[name], rss_bytes(pid))
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        for name, pid in self.pids.items():
            self.peaks[name] = max(self.peaks[name], rss_bytes(pid))
