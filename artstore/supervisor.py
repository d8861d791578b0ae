"""Start the fleet's processes, wait until they are ready, stop them all on Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from artstore.stack import Service, environment


class Supervisor:
    def __init__(self, var: Path) -> None:
        self.logs = var / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.running: list[tuple[Service, subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self, service: Service, argv: list[str] | None = None) -> None:
        log = (self.logs / f"{service.name}.log").open("ab")
        process = subprocess.Popen(
            argv or [sys.executable, "-m", service.module],
            env=environment(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        self.running.append((service, process, log))

    def wait_ready(self, service: Service, timeout: float = 120) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        last = "no answer"
        process = next(p for s, p, _ in self.running if s is service)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{service.name} exited ({process.returncode}); see {self.log_of(service)}"
                )
            try:
                with urllib.request.urlopen(f"{service.url}/health/ready", timeout=2) as resp:  # noqa: S310
                    body: dict[str, object] = json.load(resp)
                    return body
            except urllib.error.HTTPError as exc:
                last = exc.read().decode(errors="replace")[:300]
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(
            f"{service.name} not ready after {timeout:.0f}s: {last}; see {self.log_of(service)}"
        )

    def log_of(self, service: Service) -> Path:
        return self.logs / f"{service.name}.log"

    def first_exited(self) -> Service | None:
        for service, process, _ in self.running:
            if process.poll() is not None:
                return service
        return None

    def stop_all(self, timeout: float = 15, kill_timeout: float = 60) -> list[str]:
        """SIGTERM to every service, SIGKILL to any still running after ``timeout`` seconds.

        Returns the names of the services that had to be killed. Never raises: the caller
        still has the embedded Postgres to stop. A process blocked in disk I/O (an fsync on
        a busy disk) dies only when that call returns, so a killed one gets ``kill_timeout``
        seconds more before it is reported as still running."""
        for _, process, _ in reversed(self.running):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        killed: list[str] = []
        for service, process, log in reversed(self.running):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                killed.append(service.name)
                process.kill()
                try:
                    process.wait(kill_timeout)
                except subprocess.TimeoutExpired:
                    print(f"{service.name} (pid {process.pid}) is still running after SIGKILL")
            log.close()
        self.running.clear()
        return killed
