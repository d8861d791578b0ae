"""The ArtStore fleet exactly as ``make run`` starts it, shifted by a port offset.

It uses what ``artstore up --no-ui --port-offset N`` uses (``artstore.stack.build_services``,
the embedded Postgres, the ``Supervisor``; local-disk SEs with fsync on), in this process so
the bench knows every service's pid and the Postgres socket, with a private Redis so that
its discovery keys and pub/sub channels never meet those of a ``make run`` fleet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from artstore.infra import Postgres
from artstore.stack import (
    ADMIN_PORT,
    INGESTER_PORT,
    QUERY_PORT,
    STORAGE_ELEMENTS,
    build_services,
    load_secrets,
)
from artstore.supervisor import Supervisor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Redis:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def start_redis(workdir: Path) -> Redis:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server not found (apt-get install redis-server)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            str(workdir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Redis(process, f"redis://127.0.0.1:{port}/0")
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


@dataclass
class Fleet:
    """The fleet's processes (the same ``Service`` list and ``Supervisor`` as ``artstore up``)."""

    var: Path
    offset: int
    postgres: Postgres
    supervisor: Supervisor
    services: dict[str, int] = field(default_factory=dict)  # name -> pid
    postgres_socket: str = ""

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port + self.offset}"

    @property
    def admin(self) -> str:
        return self.url(ADMIN_PORT)

    @property
    def ingester(self) -> str:
        return self.url(INGESTER_PORT)

    @property
    def query(self) -> str:
        return self.url(QUERY_PORT)

    def admin_password(self) -> str:
        secrets: dict[str, str] = json.loads((self.var / "secrets.json").read_text())
        return secrets["admin_password"]

    def stop(self) -> None:
        self.supervisor.stop_all()
        self.postgres.stop()


def static_discovery(offset: int) -> str:
    """A static SE list for the ingester and query module (``ARTSTORE_BENCH_STATIC_DISCOVERY=1``);
    it takes precedence over the registry discovery ``make run`` uses. The run recorded in
    docs/performance.md used it; by default the fleet discovers its SEs as ``make run`` does."""
    return json.dumps(
        [
            {
                "id": spec.se_id,
                "name": spec.name,
                "url": f"http://127.0.0.1:{spec.port + offset}",
                "mode": spec.mode,
                "priority": spec.priority,
            }
            for spec in STORAGE_ELEMENTS
        ]
    )


def start(var: Path, offset: int, redis_url: str) -> Fleet:
    """What ``artstore up --no-ui --port-offset N`` does, with the given Redis."""
    var.mkdir(parents=True, exist_ok=True)
    secret, _ = load_secrets(var)
    postgres = Postgres(var)
    postgres.start()
    fleet = Fleet(var, offset, postgres, Supervisor(var))
    if found := re.search(r"socket (\S+?)\)", postgres.description):
        fleet.postgres_socket = found.group(1)
    try:
        services = build_services(var, postgres.url, redis_url, secret, offset)
        postgres.create_databases([s.database for s in services])
        if os.environ.get("ARTSTORE_BENCH_STATIC_DISCOVERY"):
            for service in services:
                if service.module in ("ingester_module", "query_module"):
                    service.settings.setdefault("storage_elements", static_discovery(offset))
        admin, rest = services[0], services[1:]
        fleet.supervisor.start(admin)
        fleet.supervisor.wait_ready(admin)
        for service in rest:
            fleet.supervisor.start(service)
        for service in rest:
            fleet.supervisor.wait_ready(service)
    except BaseException:
        fleet.stop()
        raise
    fleet.services = {s.name: p.pid for s, p, _ in fleet.supervisor.running}
    return fleet
