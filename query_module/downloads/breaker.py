"""A circuit breaker per storage element.

After ``threshold`` consecutive failures an SE is skipped for ``reset_after`` seconds;
then one request is let through (half-open): success closes the circuit, failure opens
it again. Downloads fall back to another copy while an SE's circuit is open.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None


class CircuitBreaker:
    def __init__(self, *, threshold: int = 3, reset_after: float = 15.0) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self._states: dict[str, _State] = {}

    def allow(self, key: str) -> bool:
        state = self._states.get(key)
        if state is None or state.opened_at is None:
            return True
        if time.monotonic() - state.opened_at >= self.reset_after:
            state.opened_at = time.monotonic()  # half-open: one trial, the next wait restarts
            return True
        return False

    def is_open(self, key: str) -> bool:
        state = self._states.get(key)
        return state is not None and state.opened_at is not None

    def success(self, key: str) -> None:
        self._states.pop(key, None)

    def failure(self, key: str) -> None:
        state = self._states.setdefault(key, _State())
        state.failures += 1
        if state.failures >= self.threshold:
            state.opened_at = time.monotonic()
