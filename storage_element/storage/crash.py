"""The crash hook used by the crash tests: ``ARTSTORE_SE_CRASH_AT=<point>``.

When the variable names the point the process reaches, it ends at once with
``os._exit`` (no cleanup, no flush), exactly like a power cut as far as this process is
concerned. The points are listed in :mod:`storage_element.storage.writer`.
"""

from __future__ import annotations

import os

CRASH_ENV = "ARTSTORE_SE_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)
