"""The crash hook used by the crash tests: ``ARTSTORE_SE_CRASH_AT=<point>``.

When the variable names the point the process reaches, the process sends itself SIGKILL:
it ends at once (no cleanup, no flush, no exit handlers), exactly like ``kill -9`` or a
power cut as far as this process is concerned. Its parent sees it killed by signal 9
(``Popen.returncode == -9``; a shell reports 137). The points are listed in
:mod:`storage_element.storage.writer`.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "ARTSTORE_SE_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
