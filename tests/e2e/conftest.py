"""The fleet as `make run` starts it: real processes, embedded Postgres, a port offset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import servers

REPO = Path(__file__).resolve().parents[2]
PORT_OFFSET = int(os.environ.get("ARTSTORE_E2E_PORT_OFFSET", "300"))


@dataclass
class Fleet:
    process: subprocess.Popen[str]
    var: Path
    output: list[str]
    port_offset: int = PORT_OFFSET

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port + self.port_offset}"

    @property
    def admin(self) -> str:
        return self.url(8000)

    @property
    def ui(self) -> str:
        return self.url(4200)

    @property
    def ingester(self) -> str:
        return self.url(8020)

    @property
    def query(self) -> str:
        return self.url(8030)

    @property
    def storage(self) -> list[str]:
        return [self.url(8010), self.url(8011)]

    def secrets(self) -> dict[str, str]:
        values: dict[str, str] = json.loads((self.var / "secrets.json").read_text())
        return values


def ui_built() -> bool:
    return any(REPO.glob("admin_ui/dist/*/browser/index.html"))


def ui_flag() -> list[str]:
    """Serve the admin UI when `make ui` has built it (make test does); never build it here."""
    return [] if ui_built() else ["--no-ui"]


def start_fleet(var: Path, redis_url: str, timeout: float = 180, port_offset: int = PORT_OFFSET) -> Fleet:
    """`artstore up` with a Redis of its own: a Redis serves one fleet (its keys and
    channels are the fleet's), so a test fleet must not share the machine's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env["ARTSTORE_REDIS_URL"] = redis_url
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "artstore.cli",
            "--var",
            str(var),
            "up",
            *ui_flag(),
            "--port-offset",
            str(port_offset),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if "Press Ctrl-C" in line:
            return Fleet(process, var, output, port_offset)
    process.kill()
    log_dir = var / "logs"
    logs = "".join(p.read_text()[-3000:] for p in sorted(log_dir.glob("*.log"))) if log_dir.exists() else ""
    raise AssertionError("the fleet did not come up:\n" + "".join(output) + "\n" + logs)


def stop_fleet(fleet: Fleet) -> int:
    fleet.process.send_signal(signal.SIGINT)
    assert fleet.process.stdout is not None
    rest, _ = fleet.process.communicate(timeout=60)
    fleet.output.append(rest)
    return fleet.process.returncode


@pytest.fixture(scope="session")
def fleet_redis() -> Iterator[str]:
    server = servers.start_redis()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory, fleet_redis: str) -> Iterator[Fleet]:
    var = tmp_path_factory.mktemp("fleet-var")
    running = start_fleet(var, fleet_redis)
    yield running
    if running.process.poll() is None:
        stop_fleet(running)
