"""The supervisor behind ``make run`` stops every service, even one that will not stop."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from artstore.stack import Service
from artstore.supervisor import Supervisor

STUBBORN = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(600)"
)
POLITE = "import time; print('ready', flush=True); time.sleep(600)"


def _service(name: str) -> Service:
    return Service(name=name, module="unused", env_prefix="ARTSTORE_TEST_", port=0, database="unused")


def test_a_service_ignoring_sigterm_is_killed_and_the_rest_stopped(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    supervisor.start(_service("polite"), [sys.executable, "-c", POLITE])
    supervisor.start(_service("stubborn"), [sys.executable, "-c", STUBBORN])
    processes = [process for _, process, _ in supervisor.running]
    deadline = time.monotonic() + 30
    while not all("ready" in supervisor.log_of(_service(n)).read_text() for n in ("polite", "stubborn")):
        assert time.monotonic() < deadline, "the test processes did not start"
        time.sleep(0.05)

    started = time.monotonic()
    killed = supervisor.stop_all(timeout=1)  # returns instead of raising
    assert killed == ["stubborn"]
    assert time.monotonic() - started < 20
    assert [p.returncode for p in processes] == [-15, -9]  # SIGTERM for one, SIGKILL for the other
    assert supervisor.running == []
