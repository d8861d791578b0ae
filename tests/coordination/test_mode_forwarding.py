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
