"""A circuit breaker per storage element.

After ``threshold`` consecutive failures (no answer, or a 5xx other than 507) the SE is
skipped for ``reset_seconds``; then one trial request is let through (half-open): its
success closes the breaker, its failure opens it again. In-process state: each replica
learns an SE's health on its own, which is what a breaker is for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0


class Breakers:
    def __init__(self, *, threshold: int = 3, reset_seconds: float = 30.0) -> None:
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._states: dict[str, _State] = {}

    def allows(self, se_id: str) -> bool:
        state = self._states.get(se_id)
        if state is None or state.failures < self.threshold:
            return True
        if time.monotonic() >= state.open_until:
            # Half-open: let one trial through and hold the others back until it reports.
            state.open_until = time.monotonic() + self.reset_seconds
            return True
        return False

    def is_open(self, se_id: str) -> bool:
        state = self._states.get(se_id)
        return state is not None and state.failures >= self.threshold and time.monotonic() < state.open_until

    def success(self, se_id: str) -> None:
        self._states.pop(se_id, None)

    def failure(self, se_id: str) -> None:
        state = self._states.setdefault(se_id, _State())
        state.failures += 1
        if state.failures >= self.threshold:
            state.open_until = time.monotonic() + self.reset_seconds
