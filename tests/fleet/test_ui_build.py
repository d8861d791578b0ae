"""`make run` serves the admin UI it built, and builds it again once a source is newer than
the build (an edit under src/, or package.json, angular.json, ...). A small package whose
`npm run build` writes dist/ stands in for the Angular app; npm itself is real."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from artstore.cli import build_ui

BUILD_SCRIPT = """
const fs = require("fs");
const count = fs.existsSync("builds") ? Number(fs.readFileSync("builds", "utf8")) + 1 : 1;
fs.writeFileSync("builds", String(count));
fs.mkdirSync("dist/app/browser", { recursive: true });
fs.writeFileSync("dist/app/browser/index.html", "<p>build " + count + "</p>");
"""


@pytest.fixture
def ui_dir(tmp_path: Path) -> Path:
    if not shutil.which("npm"):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("npm is required in CI")
        pytest.skip("npm not found")
    ui = tmp_path / "admin_ui"
    (ui / "src").mkdir(parents=True)
    (ui / "src" / "main.ts").write_text("export {};\n")
    (ui / "build.js").write_text(BUILD_SCRIPT)
    (ui / "package.json").write_text(
        json.dumps({"name": "ui", "private": True, "scripts": {"build": "node build.js"}})
    )
    (ui / "angular.json").write_text("{}")
    (ui / "node_modules").mkdir()  # dependencies installed: no `npm ci` needed
    return ui


def age(path: Path, seconds: float) -> None:
    """Set the modification time ``seconds`` in the past (no waiting for the clock)."""
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


def builds(ui: Path) -> int:
    return int((ui / "builds").read_text())


def test_a_build_older_than_its_sources_is_rebuilt(
    ui_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    var = tmp_path / "var"
    (var / "logs").mkdir(parents=True)
    root = build_ui(var, ui_dir)
    assert root == ui_dir / "dist" / "app" / "browser" and builds(ui_dir) == 1
    index = root / "index.html"
    for source in [ui_dir / "src" / "main.ts", ui_dir / "package.json", ui_dir / "angular.json"]:
        age(source, 60)
    age(ui_dir / "node_modules", 30)

    assert build_ui(var, ui_dir) == root and builds(ui_dir) == 1  # up to date: served as is

    (ui_dir / "src" / "main.ts").write_text("export const edited = true;\n")  # newer than the build
    age(index, 10)
    assert build_ui(var, ui_dir) == root and builds(ui_dir) == 2
    assert index.read_text() == "<p>build 2</p>"
    assert "rebuilding it (its sources changed): npm run build" in capsys.readouterr().out

    age(index, 10)
    os.utime(ui_dir / "angular.json")  # the build configuration changed
    assert build_ui(var, ui_dir) == root and builds(ui_dir) == 3
    assert build_ui(var, ui_dir) == root and builds(ui_dir) == 3
