"""The admin UI in real headless Chromium against the real fleet (admin_ui/e2e/run.mjs).

It logs in, uploads a file and watches the progress, finds it by a word of its
description, downloads it and compares the bytes, changes an SE's mode, creates a user
and finds these actions in the audit log; screenshots land in admin_ui/test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.e2e.conftest import REPO, Fleet, ui_built

pytestmark = pytest.mark.e2e


def test_admin_ui_end_to_end(fleet: Fleet) -> None:
    missing = [
        what
        for what, ok in (
            ("node", shutil.which("node")),
            ("chromium", os.path.exists("/usr/bin/chromium")),
            ("a built UI (make ui)", ui_built()),
        )
        if not ok
    ]
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"UI end-to-end test cannot run in CI without: {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)}")
    shots = REPO / "admin_ui" / "test-artifacts" / "e2e"
    shutil.rmtree(shots, ignore_errors=True)  # only this run's screenshots count below
    env = {
        **os.environ,
        "ARTSTORE_UI_URL": fleet.ui,
        "ARTSTORE_E2E_USER": "admin",
        "ARTSTORE_E2E_PASSWORD": fleet.secrets()["admin_password"],
    }
    result = subprocess.run(
        ["node", "e2e/run.mjs"],
        cwd=REPO / "admin_ui",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # Each page's screenshot is an artifact of this run.
    pages = {"login", "dashboard", "files", "files-uploaded", "storage", "users", "keys"}
    pages |= {"service-accounts", "audit", "change-password", "reset-password", "forgot-password"}
    missing_shots = sorted(page for page in pages if not (shots / f"{page}.png").is_file())
    assert not missing_shots, f"no screenshot of {missing_shots} in {shots}"
