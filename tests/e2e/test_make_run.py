"""`make run` (artstore up) brings the fleet up, reports it, and stops it cleanly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

from tests.e2e.conftest import PORT_OFFSET, REPO, Fleet, start_fleet, stop_fleet
from tests.support import servers
from tests.support.servers import Managed

pytestmark = pytest.mark.e2e


def get_json(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (local URL)
        return response.status, json.load(response)


def test_every_service_is_ready(fleet: Fleet) -> None:
    for base in [fleet.admin, *fleet.storage, fleet.ingester, fleet.query]:
        status, body = get_json(f"{base}/health/ready")
        assert status == 200 and body["status"] in ("ok", "degraded"), (base, body)


def test_summary_prints_urls_and_first_admin(fleet: Fleet) -> None:
    text = "".join(fleet.output)
    assert fleet.admin in text and fleet.query in text
    assert f"admin / {fleet.secrets()['admin_password']}" in text


def test_secrets_file_is_private(fleet: Fleet) -> None:
    assert (fleet.var / "secrets.json").stat().st_mode & 0o777 == 0o600


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_second_run_reuses_state_and_stops_without_orphans(tmp_path: Path, private_redis: Managed) -> None:
    """A fleet of its own (ports and Redis), beside the session's."""
    first = start_fleet(tmp_path / "var", private_redis.url, port_offset=PORT_OFFSET + 100)
    password = first.secrets()["admin_password"]
    children = children_of(first.process.pid)
    assert len(children) >= 5
    assert stop_fleet(first) == 0
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    second = start_fleet(tmp_path / "var", private_redis.url, port_offset=PORT_OFFSET + 100)
    try:
        assert second.secrets()["admin_password"] == password
        assert "password in var/secrets.json" in "".join(second.output)
    finally:
        assert stop_fleet(second) == 0


def test_busy_ports_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    """A second `make run` must not mistake another fleet's answers for its own."""
    offset = PORT_OFFSET + 200
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 8000 + offset))
        squatter.listen()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "artstore.cli",
                "--var",
                str(tmp_path / "var"),
                "up",
                "--no-ui",
                "--port-offset",
                str(offset),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")},
        )
    assert result.returncode == 1
    assert f"admin :{8000 + offset}" in result.stdout and "--port-offset" in result.stdout


async def test_migrate_uses_a_configured_postgres_in_the_documented_form(tmp_path: Path) -> None:
    """ARTSTORE_DATABASE_URL=postgresql://user@host:port?... (no driver, a query string):
    `artstore migrate` creates and migrates every service's database on that server."""
    server = servers.start_postgres()  # its own: `make run` uses fixed database names
    try:
        plain = make_url(server.url).set(drivername="postgresql").render_as_string(hide_password=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSTORE_")}
        env["ARTSTORE_DATABASE_URL"] = plain + "?prepared_statement_cache_size=50"
        result = subprocess.run(
            [sys.executable, "-m", "artstore.cli", "--var", str(tmp_path / "var"), "migrate"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "query: migrated" in result.stdout
        connection = await asyncpg.connect(f"{plain}/artstore_admin")
        try:
            assert await connection.fetchval("SELECT version_num FROM alembic_version")
        finally:
            await connection.close()
    finally:
        server.stop()
