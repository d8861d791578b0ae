"""`.ci/run` installs Node.js and npm when the admin UI needs them and refuses a Node.js
older than 20 with a clear message before `make test` starts. Run in a copy of the
script's layout with a PATH of its own: stand-ins for apt-get, node and make record what
they were asked to do (the script's own logic is what is under test)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRESENT = ["pg_ctlcluster", "redis-server", "slapd", "ldapadd", "docker-compose", "chromium"]


def stand_in(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def node_body(version: str) -> str:
    major = version.split(".")[0]
    return f'case "$1" in -p) echo {major};; --version) echo v{version};; esac'


def sandbox(tmp_path: Path, node: str | None) -> tuple[Path, dict[str, str]]:
    root, bin_dir = tmp_path / "repo", tmp_path / "bin"
    (root / ".ci").mkdir(parents=True)
    (root / "admin_ui" / "src").mkdir(parents=True)
    (root / "admin_ui" / "package.json").write_text("{}")
    shutil.copy(REPO / ".ci" / "run", root / ".ci" / "run")
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "ls"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    for tool in PRESENT:
        stand_in(bin_dir, tool, "exit 0")
    log = tmp_path / "calls.log"
    stand_in(bin_dir, "make", f'echo "make $*" >> {log}')
    # apt-get "installs" packages from a shelf: nodejs as Debian 12 ships it, version 18.
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    stand_in(shelf, "nodejs", node_body("18.19.0"))
    stand_in(shelf, "npm", "exit 0")
    copy = shutil.which("cp")
    stand_in(
        bin_dir,
        "apt-get",
        f'echo "apt-get $*" >> {log}\n'
        f'case "$*" in *nodejs*) {copy} -p {shelf}/nodejs {bin_dir}/node;; esac\n'
        f'case "$*" in *npm*) {copy} -p {shelf}/npm {bin_dir}/npm;; esac',
    )
    if node is not None:
        stand_in(bin_dir, "node", node_body(node))
        stand_in(bin_dir, "npm", "exit 0")
    return root, {"PATH": str(bin_dir), "HOME": str(tmp_path)}


def run(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("version", ["20.11.1", "22.3.0"])
def test_node_20_or_later_runs_make_test_without_installing(tmp_path: Path, version: str) -> None:
    root, env = sandbox(tmp_path, node=version)
    result = run(root, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(tmp_path) == ["make test"]


def test_missing_node_and_npm_are_installed_and_debians_18_is_refused_clearly(tmp_path: Path) -> None:
    root, env = sandbox(tmp_path, node=None)
    result = run(root, env)
    assert result.returncode == 1
    installs = [c for c in calls(tmp_path) if c.startswith("apt-get install")]
    assert len(installs) == 1 and "nodejs" in installs[0].split() and "npm" in installs[0].split()
    assert "make test" not in calls(tmp_path)
    assert "Node.js 20 or later is required" in result.stderr and "v18.19.0" in result.stderr


def test_an_old_node_is_refused_before_make_test(tmp_path: Path) -> None:
    root, env = sandbox(tmp_path, node="18.19.0")
    result = run(root, env)
    assert result.returncode == 1
    assert calls(tmp_path) == []
    assert "found v18.19.0" in result.stderr
