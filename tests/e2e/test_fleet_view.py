"""The admin module's fleet view lists every running instance from its real heartbeats."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from shared.version import __version__
from tests.e2e.conftest import Fleet

pytestmark = pytest.mark.e2e

DEADLINE = 120.0  # heartbeats every 5 s; a loaded machine may take much longer to start them


def admin_headers(fleet: Fleet) -> dict[str, str]:
    response = httpx.post(
        f"{fleet.admin}/api/v1/auth/token",
        data={"grant_type": "password", "username": "admin", "password": fleet.secrets()["admin_password"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def fleet_view(fleet: Fleet, headers: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(f"{fleet.admin}/api/v1/fleet", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(check: Callable[[], Any], what: str, views: list[dict[str, Any]]) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what} within {DEADLINE}s; last view: {views[-1:]}")


def test_the_fleet_view_lists_every_instance_from_its_heartbeats(fleet: Fleet) -> None:
    headers = admin_headers(fleet)
    expected = {
        ("admin_module", "admin", fleet.admin),
        ("storage_element", "se-edit-1", fleet.storage[0]),
        ("storage_element", "se-rw-1", fleet.storage[1]),
        ("ingester_module", "ingester", fleet.ingester),
        ("query_module", "query", fleet.query),
    }
    views: list[dict[str, Any]] = []

    def everyone_up() -> dict[str, dict[str, Any]] | None:
        views.append(fleet_view(fleet, headers))
        items = views[-1]["items"]
        seen = {(i["kind"], i["instance_id"], i["url"]) for i in items}
        if seen != expected or any(i["status"] != "up" for i in items):
            return None
        return {i["instance_id"]: i for i in items}

    first = wait_for(everyone_up, "every instance heartbeating and up", views)
    for item in first.values():
        assert item["version"] == __version__
        assert datetime.fromisoformat(item["started_at"]) <= datetime.fromisoformat(item["last_seen_at"])
    assert {se["id"] for se in views[-1]["storage_elements"]} == {"se-edit-1", "se-rw-1"}

    # The beats go on: every instance is seen again, later, without anyone asking it.
    def everyone_seen_again() -> bool:
        now = everyone_up()
        return now is not None and all(
            datetime.fromisoformat(now[name]["last_seen_at"]) > datetime.fromisoformat(item["last_seen_at"])
            for name, item in first.items()
        )

    wait_for(everyone_seen_again, "every instance heartbeating again", views)
