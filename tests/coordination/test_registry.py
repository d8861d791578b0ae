"""Registry, health polling, discovery and the fleet view with real processes (issue 6)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from redis.asyncio import Redis

from shared.discovery import RedisDiscovery, admin_snapshot_fetcher
from tests.coordination.conftest import Fleet


class Tokens:
    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    async def headers(self) -> dict[str, str]:
        return self._headers


async def eventually(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"{what} not met within {timeout}s"
        await asyncio.sleep(0.2)


async def test_register_poll_publish_and_forward(fleet: Fleet) -> None:
    admin = await fleet.start_admin()
    edit = await fleet.start_storage("se-edit", "edit")
    rw = await fleet.start_storage("se-rw", "rw", priority=5)
    operator = fleet.admin_headers()
    async with httpx.AsyncClient(base_url=admin.url, headers=operator, timeout=30) as api:
        for se in (edit, rw):
            first = await api.post("/api/v1/storage-elements", json={"url": se.url})
            assert first.status_code in (200, 201), first.text  # the SE may have registered itself already
            again = await api.post("/api/v1/storage-elements", json={"url": se.url})
            assert again.status_code == 200, again.text
        listed = (await api.get("/api/v1/storage-elements")).json()
        by_id = {item["id"]: item for item in listed["items"]}
        assert set(by_id) == {"se-edit", "se-rw"} and listed["total"] == 2
        assert by_id["se-edit"]["mode"] == "edit" and by_id["se-rw"]["mode"] == "rw"
        assert by_id["se-rw"]["capacity"]["total"] > 0 and by_id["se-rw"]["status"] == "online"

        # A consumer's discovery client sees the registry through Redis.
        redis = Redis.from_url(fleet.redis_url)
        query_tokens = Tokens(fleet.service_headers("svc-query"))
        async with httpx.AsyncClient(timeout=10) as http:
            discovery = RedisDiscovery(
                redis, admin_snapshot_fetcher(http, admin.url, query_tokens), refresh_interval=30
            )
            await discovery.start()
            try:
                await eventually(lambda: len(discovery.all()) == 2, what="two SEs in discovery")
                assert discovery.source == "redis"
                assert [s.id for s in discovery.writable("rw")] == ["se-rw"]

                # A mode change through the admin module reaches the SE and the discovery client.
                changed = await api.post("/api/v1/storage-elements/se-rw/mode", json={"mode": "ro"})
                assert changed.status_code == 200, changed.text
                info = httpx.get(f"{rw.url}/api/v1/info", headers=fleet.service_headers("svc-query")).json()
                assert info["mode"] == "ro"
                await eventually(lambda: discovery.get("se-rw").mode == "ro", what="mode ro in discovery")  # type: ignore[union-attr]
                assert discovery.writable("rw") == []

                # A stopped SE goes offline within a poll or two and leaves the writable set.
                assert [s.id for s in discovery.writable("edit")] == ["se-edit"]
                edit.kill()
                await eventually(
                    lambda: discovery.get("se-edit").status == "offline",
                    what="se-edit offline",  # type: ignore[union-attr]
                )
                assert discovery.writable("edit") == []
                detail = (await api.get("/api/v1/storage-elements/se-edit")).json()
                assert detail["status"] == "offline" and detail["status_reason"]
            finally:
                await discovery.stop()
                await redis.aclose()

        # The internal snapshot serves the same data without Redis, to any service token.
        snap = httpx.get(
            f"{admin.url}/internal/v1/storage-elements", headers=fleet.service_headers("svc-ingester")
        )
        assert snap.status_code == 200
        assert {s["id"]: s["mode"] for s in snap.json()["storage_elements"]} == {
            "se-edit": "edit",
            "se-rw": "ro",
        }
        assert (
            await api.get("/internal/v1/storage-elements")
        ).status_code == 403  # a person is not a service

        # Audit: registrations and the mode change are in the admin's log.
        actions = [e["action"] for e in (await api.get("/api/v1/audit-events?limit=200")).json()["items"]]
        assert "storage_element.mode_changed" in actions and "storage_element.registered" in actions


async def test_fleet_view_lists_heartbeats(fleet: Fleet) -> None:
    admin = await fleet.start_admin()
    headers = fleet.admin_headers()
    beat = {
        "kind": "query_module",
        "instance_id": "query-1",
        "url": "http://q:1",
        "version": "1.0",
        "started_at": "2026-11-26T00:00:00Z",
    }
    svc = fleet.service_headers("svc-query")
    assert httpx.post(f"{admin.url}/internal/v1/heartbeats", json=beat, headers=svc).status_code == 204
    assert httpx.post(f"{admin.url}/internal/v1/heartbeats", json=beat, headers=headers).status_code == 403
    view = await eventually(
        lambda: (
            lambda v: v if {i["kind"] for i in v["items"]} >= {"admin_module", "query_module"} else None
        )(httpx.get(f"{admin.url}/api/v1/fleet", headers=headers).json()),
        what="admin and query in the fleet view",
    )
    query = next(i for i in view["items"] if i["instance_id"] == "query-1")
    assert query["status"] == "up" and query["url"] == "http://q:1"


async def test_registry_rules(fleet: Fleet) -> None:
    admin = await fleet.start_admin()
    se = await fleet.start_storage("se-a", "rw")
    headers = fleet.admin_headers()
    async with httpx.AsyncClient(base_url=admin.url, headers=headers, timeout=30) as api:
        assert (await api.post("/api/v1/storage-elements", json={"url": se.url})).status_code in (200, 201)
        patched = await api.patch("/api/v1/storage-elements/se-a", json={"priority": 3, "name": "Main"})
        assert (
            patched.status_code == 200
            and patched.json()["priority"] == 3
            and patched.json()["name"] == "Main"
        )
        # Re-registration keeps the operator's choices.
        assert (await api.post("/api/v1/storage-elements", json={"url": se.url})).json()["priority"] == 3
        assert (await api.get("/api/v1/storage-elements/nope")).status_code == 404
        unreachable = await api.post("/api/v1/storage-elements", json={"url": "http://127.0.0.1:9"})
        assert unreachable.status_code == 502 and unreachable.json()["code"] == "storage_element_unreachable"
        bad_mode = await api.post("/api/v1/storage-elements/se-a/mode", json={"mode": "edit"})
        assert bad_mode.status_code in (409, 422), bad_mode.text  # the SE's own rule, passed through
        # An empty SE can be removed; then it is gone.
        assert (await api.delete("/api/v1/storage-elements/se-a")).status_code == 204
        assert (await api.get("/api/v1/storage-elements/se-a")).status_code == 404
    user_token = {
        "Authorization": "Bearer "
        + fleet.token({"grant_type": "client_credentials"}, auth=("svc-query", fleet.secrets["svc-query"]))
    }
    assert httpx.get(f"{admin.url}/api/v1/storage-elements", headers=user_token).status_code == 403


async def test_a_storage_element_holding_files_stays_registered(fleet: Fleet) -> None:
    admin = await fleet.start_admin()
    await fleet.start_storage("se-full", "rw")
    headers = fleet.admin_headers()
    await eventually(
        lambda: httpx.get(f"{admin.url}/api/v1/storage-elements/se-full", headers=headers).status_code == 200,
        what="se-full registered",
    )
    fleet.put_file("se-full", "kept", b"a permanent document")
    removed = httpx.delete(f"{admin.url}/api/v1/storage-elements/se-full", headers=headers)
    assert removed.status_code == 409 and removed.json()["code"] == "storage_element_not_empty", removed.text
    assert "1 files" in removed.json()["detail"]
    assert httpx.get(f"{admin.url}/api/v1/storage-elements/se-full", headers=headers).status_code == 200


async def test_maintenance_through_the_admin_module(fleet: Fleet) -> None:
    admin = await fleet.start_admin()
    se = await fleet.start_storage("se-m", "rw")
    contents = {"m-1": b"first document", "m-2": b"second, longer document", "m-3": b"x" * 70_000}
    for file_id, data in contents.items():
        fleet.put_file("se-m", file_id, data)
    expected = {
        "reindex": {"files": 3, "unreadable": []},
        "consistency": {
            "sidecars": 3,
            "indexed": 3,
            "missing_in_index": [],
            "orphaned_in_index": [],
            "differing": [],
        },
        "scrub": {"checked": 3, "bytes": sum(len(d) for d in contents.values()), "corrupt": []},
    }
    headers = fleet.admin_headers()
    async with httpx.AsyncClient(base_url=admin.url, headers=headers, timeout=30) as api:
        assert (await api.post("/api/v1/storage-elements", json={"url": se.url})).status_code in (200, 201)
        for kind, counts in expected.items():
            started = await api.post(f"/api/v1/storage-elements/se-m/maintenance/{kind}")
            assert started.status_code == 202, started.text
            job_id = started.json()["job_id"]

            async def finished(job_id: str = job_id) -> dict[str, Any] | None:
                body: dict[str, Any] = (
                    await api.get(f"/api/v1/storage-elements/se-m/maintenance/jobs/{job_id}")
                ).json()
                return body if body["state"] in ("done", "failed") else None

            job = await eventually(finished, what=f"{kind} job finished")
            assert job["state"] == "done", job
            assert {k: job["report"][k] for k in counts} == counts, job["report"]
        missing = await api.get("/api/v1/storage-elements/se-m/maintenance/jobs/no-such-job")
        assert missing.status_code == 404
