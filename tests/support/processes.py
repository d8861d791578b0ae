"""Run ArtStore services as real processes (``python -m <service>``) for tests.

Crash tests, restart tests and end-to-end tests need a real process that can be
SIGKILLed; :class:`ServiceProcess` starts one on a free port with environment settings,
waits for ``/health/live``, and stops or kills it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.servers import ServerUnavailable, free_port

REPO = Path(__file__).resolve().parents[2]


class ServiceProcess:
    def __init__(
        self,
        module: str,
        env_prefix: str,
        settings: dict[str, str],
        *,
        log_path: Path,
        port: int | None = None,
    ) -> None:
        self.module = module
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "ARTSTORE_ENV": os.environ.get("ARTSTORE_ENV", "test")}
        self.env.update({f"{env_prefix}{k.upper()}": v for k, v in settings.items()})
        self.env[f"{env_prefix}PORT"] = str(self.port)
        self.env[f"{env_prefix}PUBLIC_URL"] = self.url
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(
        self, *, wait: bool = True, extra_env: dict[str, str] | None = None, timeout: float = 60
    ) -> ServiceProcess:
        env = {**self.env, **(extra_env or {})}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if wait:
            self.wait_live(timeout)
        return self

    def wait_live(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerUnavailable(f"{self.module} exited with {self.process.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/live", timeout=1):  # noqa: S310 (local)
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise ServerUnavailable(f"{self.module} not live within {timeout}s: {self.tail()}")

    def wait_exit(self, timeout: float = 30) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
