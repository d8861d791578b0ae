"""What the machine itself allows: the disk (``dd`` with fdatasync) and loopback TCP.

* Disk, sequential: ``dd bs=4M conv=fdatasync``: bytes written and flushed once at the end.
* Disk, small synced writes: ``dd bs=4k oflag=dsync``: every 4 KiB write is flushed, the
  ceiling of one-fsync-per-file writes of 4 KiB files with no grouping.
* Loopback: one process streaming 1 MiB ``sendall`` calls to another's ``recv_into``
  (kernel copy cost, almost no Python per byte).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_DD_RATE = re.compile(r"copied, ([\d.]+) s")


def _dd(args: list[str]) -> float:
    result = subprocess.run(["dd", *args], capture_output=True, text=True, check=True)
    found = _DD_RATE.search(result.stderr)
    if not found:
        raise RuntimeError(f"cannot read dd's output: {result.stderr}")
    return float(found.group(1))


def disk(directory: Path, mib: int, small_count: int) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "dd.bin"
    try:
        seconds = _dd(
            ["if=/dev/zero", f"of={target}", "bs=4M", f"count={max(1, mib // 4)}", "conv=fdatasync"]
        )
        seq = max(1, mib // 4) * 4 / seconds
        target.unlink()
        seconds = _dd(["if=/dev/zero", f"of={target}", "bs=4k", f"count={small_count}", "oflag=dsync"])
        synced = small_count / seconds
    finally:
        target.unlink(missing_ok=True)
    return {"sequential_fdatasync_mib_s": seq, "dsync_4k_writes_per_s": synced}


_SENDER = """
import socket, sys
port, total = int(sys.argv[1]), int(sys.argv[2])
buf = b"\\0" * (1 << 20)
with socket.create_connection(("127.0.0.1", port)) as s:
    sent = 0
    while sent < total:
        s.sendall(buf)
        sent += len(buf)
"""


def loopback(mib: int) -> dict[str, Any]:
    total = mib * 1024 * 1024
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        sender = subprocess.Popen([sys.executable, "-c", _SENDER, str(port), str(total)])
        conn, _ = server.accept()
        buf = bytearray(1 << 20)
        received = 0
        started = time.perf_counter()
        with conn:
            while True:
                n = conn.recv_into(buf)
                if not n:
                    break
                received += n
        seconds = time.perf_counter() - started
        sender.wait(10)
    return {"tcp_mib_s": received / 1024 / 1024 / seconds}
