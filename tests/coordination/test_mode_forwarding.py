"""A mode change forwarded by the admin module stands once the SE has accepted it."""

from __future__ import annotations

from typing import Any

import httpx

from admin_module.storage_elements.client import StorageElementClient
from admin_module.storage_elements.errors import StorageElementUnreachable
from tests.admin_module.conftest import admin_settings, running_admin

URL = "http://se-gone.test:8010"


class AcceptsThenGoesAway(StorageElementClient):
    """An SE (our own protocol) that takes a mode change and is unreachable right after."""

    def __init__(self) -> None:
        super().__init__(httpx.AsyncClient(), tokens=None)
        self.mode, self.up = "rw", True

    async def info(self, base_url: str) -> dict[str, Any]:
        if not self.up:
            raise StorageElementUnreachable(f"{base_url}/api/v1/info: ConnectError")
        return {"id": "se-gone", "name": "Gone", "mode": self.mode, "allowed_operations": ["create", "read"]}

    async def forward(self, method: str, url: str, json: dict[str, Any] | None = None) -> httpx.Response:
        assert (method, url) == ("POST", f"{URL}/api/v1/mode") and json is not None
        self.mode, self.up = json["mode"], False
        return httpx.Response(200, json={"mode": self.mode, "allowed_operations": ["delete", "read"]})


async def test_mode_change_accepted_by_the_se_is_recorded_when_info_then_fails(
    database_url: str, redis_url: str
) -> None:
    settings = admin_settings(database_url, redis_url, health_poll_seconds=3600)
    async with running_admin(settings) as admin:
        se = AcceptsThenGoesAway()
        admin.app.state.se_client = se
        headers = await admin.headers()
        api = admin.client
        registered = await api.post("/api/v1/storage-elements", json={"url": URL}, headers=headers)
        assert registered.status_code == 201, registered.text

        mode = "/api/v1/storage-elements/se-gone/mode"
        changed = await api.post(mode, json={"mode": "ro"}, headers=headers)
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"mode": "ro", "allowed_operations": ["delete", "read"]}  # the SE's answer

        row = (await api.get("/api/v1/storage-elements/se-gone", headers=headers)).json()
        assert row["mode"] == "ro" and row["allowed_operations"] == ["delete", "read"]
        events = (
            await api.get("/api/v1/audit-events?action=storage_element.mode_changed", headers=headers)
        ).json()["items"]
        assert [(e["target"], e["outcome"]) for e in events] == [("se-gone", "success")]
        await se.http.aclose()


class AnswersHtml(StorageElementClient):
    """An SE behind a proxy that answers an error page instead of JSON."""

    def __init__(self) -> None:
        super().__init__(httpx.AsyncClient(), tokens=None)

    async def info(self, base_url: str) -> dict[str, Any]:
        return {"id": "se-html", "name": "Html", "mode": "rw", "allowed_operations": ["create", "read"]}

    async def forward(self, method: str, url: str, json: dict[str, Any] | None = None) -> httpx.Response:
        request = httpx.Request(method, url)
        return httpx.Response(502, text="<html>Bad Gateway</html>", request=request)


async def test_a_storage_element_answering_without_json_is_a_502_problem(
    database_url: str, redis_url: str
) -> None:
    settings = admin_settings(database_url, redis_url, health_poll_seconds=3600)
    async with running_admin(settings) as admin:
        se = AnswersHtml()
        admin.app.state.se_client = se
        headers = await admin.headers()
        api = admin.client
        registered = await api.post(
            "/api/v1/storage-elements", json={"url": "http://se-html.test:8010"}, headers=headers
        )
        assert registered.status_code == 201, registered.text
        for path, body in (("mode", {"mode": "ro"}), ("maintenance/scrub", None)):
            answer = await api.post(f"/api/v1/storage-elements/se-html/{path}", json=body, headers=headers)
            assert answer.status_code == 502, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] == "storage_element_unreachable"
        row = (await api.get("/api/v1/storage-elements/se-html", headers=headers)).json()
        assert row["mode"] == "rw"  # nothing was recorded on an answer that could not be read
        await se.http.aclose()
