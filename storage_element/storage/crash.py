"""The crash hook used by the crash tests: ``ARTSTORE_SE_CRASH_AT=<point>``.

When the variable names the point the process reaches, the process sends itself SIGKILL:
it ends at once (no cleanup, no flush, no exit handlers), exactly like ``kill -9`` or a
power cut as far as this process is concerned. Its parent sees it killed by signal 9
(``Popen.returncode == -9``; a shell reports 137). The points are listed in
:mod:`storage_element.storage.writer`.

A step shared by several paths (the backend's sidecar write) names its point after the
path running it: inside ``with crash_path("put")``, ``crash_step("sidecar_temp")`` is the
point ``put_sidecar_temp``. The path is a context variable, so it reaches the worker
thread the step runs in (``anyio.to_thread`` copies the context).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CRASH_ENV = "ARTSTORE_SE_CRASH_AT"
_path: ContextVar[str | None] = ContextVar("artstore_crash_path", default=None)


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def crash_path(path: str) -> Iterator[None]:
    """Name the path (``put``, ``update``, ``quarantine``) of the shared steps run inside."""
    token = _path.set(path)
    try:
        yield
    finally:
        _path.reset(token)


def crash_step(step: str) -> None:
    """The point ``<path>_<step>`` of the path running this shared step (none outside one)."""
    path = _path.get()
    if path is not None:
        crash_point(f"{path}_{step}")
