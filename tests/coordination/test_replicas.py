"""Several admin replicas on one database: one health poller between them (issue 6, item 3)."""

from __future__ import annotations

import asyncio

import httpx

from tests.coordination.conftest import Fleet
from tests.coordination.test_registry import eventually

POLL = 2.0  # seconds between health polls, in each replica


def info_calls(se_url: str) -> float:
    """How often the SE answered ``GET /api/v1/info`` (its own request metrics)."""
    text = httpx.get(f"{se_url}/metrics", timeout=30).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("artstore_http_requests_total{") and 'route="/api/v1/info"' in line
    )


async def probes_during(se_url: str, seconds: float) -> float:
    before = info_calls(se_url)
    await asyncio.sleep(seconds)
    return info_calls(se_url) - before


async def test_two_replicas_poll_each_storage_element_once_per_interval(fleet: Fleet) -> None:
    database = await fleet.new_database()
    first = await fleet.start_admin(database_url=database, health_poll_seconds=str(POLL))
    await fleet.start_admin(database_url=database, health_poll_seconds=str(POLL), jwt_issuer=first.url)
    se = await fleet.start_storage("se-polled", "rw")
    headers = fleet.admin_headers()

    def online() -> bool:
        response = httpx.get(f"{first.url}/api/v1/storage-elements/se-polled", headers=headers, timeout=30)
        return response.status_code == 200 and response.json()["status"] == "online"

    await eventually(online, timeout=30, what="se-polled registered and online")

    # One poller: about one probe per interval (two replicas polling on their own: about two).
    window = 10 * POLL
    probes = await probes_during(se.url, window)
    assert window / POLL / 2 <= probes <= window / POLL * 1.4, probes

    # The first replica leads (it started first); when it dies, the other takes over.
    first.kill()
    await asyncio.sleep(POLL)
    probes = await probes_during(se.url, window)
    assert window / POLL / 2 <= probes <= window / POLL * 1.4, probes
