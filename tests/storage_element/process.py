"""A real storage element process for crash tests, and the JWKS it trusts.

The JWKS server is a fake of our own protocol (the admin's ``/.well-known/jwks.json``)
serving the test keys.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import free_port
from tests.support.tokens import ISSUER, TestKeys

ROOT = Path(__file__).resolve().parents[2]
# The return code of an SE that reached its crash point (storage/crash.py sends SIGKILL):
# Popen reports a process killed by a signal as minus the signal (a shell shows 137).
KILLED = -signal.SIGKILL


@contextmanager
def jwks_server(keys: TestKeys) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(keys.jwks()).encode()
            self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def se_env(
    *, database_url: str, root: Path, state_dir: Path, admin_url: str, port: int, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
    env.update(
        {
            "ARTSTORE_ENV": "test",
            "ARTSTORE_STORAGE_DATABASE_URL": database_url,
            "ARTSTORE_STORAGE_ROOT": str(root),
            "ARTSTORE_STORAGE_STATE_DIR": str(state_dir),
            "ARTSTORE_STORAGE_ADMIN_URL": admin_url,
            "ARTSTORE_STORAGE_JWT_ISSUER": ISSUER,
            "ARTSTORE_STORAGE_JWKS_MIN_REFRESH_SECONDS": "0",
            "ARTSTORE_STORAGE_HTTP_RETRIES": "0",
            "ARTSTORE_STORAGE_PORT": str(port),
            "ARTSTORE_STORAGE_SE_ID": "se-crash",
            "ARTSTORE_STORAGE_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


class SEProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = int(env["ARTSTORE_STORAGE_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "storage_element"],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"SE exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/health/live", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("SE did not become ready")

    def wait_exit(self, timeout: float = 10) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.log.close()


def start(env: dict[str, str], log: Path) -> SEProcess:
    proc = SEProcess(env, log)
    try:
        proc.wait_ready()
    except Exception:
        proc.kill()
        raise
    return proc


_given: set[int] = set()


def new_port() -> int:
    """A free port not handed out before in this test session."""
    while (port := free_port()) in _given:
        pass
    _given.add(port)
    return port
