"""Every route of the HTTP contract (API.md) is served by the running fleet."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import REPO, Fleet

pytestmark = pytest.mark.e2e
CHECKER = REPO.parent / "shared" / "contract" / "check_openapi.py"


def test_fleet_serves_every_contract_route(fleet: Fleet) -> None:
    if not CHECKER.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the contract checker is missing: {CHECKER}")
        pytest.skip(f"the design documents are not beside this checkout ({CHECKER})")
    result = subprocess.run(
        [
            sys.executable,
            str(CHECKER),
            "--admin",
            fleet.admin,
            "--storage",
            fleet.storage[0],
            "--ingester",
            fleet.ingester,
            "--query",
            fleet.query,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every contract route is served" in result.stdout
