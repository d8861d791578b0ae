"""Changes reach every copy: a stopped SE that holds one blocks a PATCH and holds up a delete."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.ingester_module.conftest import Fleet, bearer, copies_on, second_copy
from tests.ingester_module.test_sagas import _upload, _wait_saga
from tests.support.tokens import TestKeys


async def test_a_stopped_se_holding_a_copy_blocks_patch_and_delete_waits_for_it(
    fleet: Fleet, ingester: Any, keys: TestKeys
) -> None:
    first, second = await fleet.start_ses(("edit-a", "edit", 10, 0), ("edit-b", "edit", 20, 0))
    token = keys.user()
    async with ingester(saga_max_attempts=100, saga_backoff_max_seconds=0.5) as (_, client):
        file_id = await _upload(client, token, b"kept twice", description="before")
        await second_copy(keys, first, second, file_id)
        second.process.kill()

        patch = await client.patch(
            f"/api/v1/files/{file_id}", json={"description": "after"}, headers=bearer(token)
        )
        assert patch.status_code == 503, patch.text
        assert patch.json()["code"] == "storage_unavailable" and "edit-b" in patch.json()["detail"]
        assert int(patch.headers["retry-after"]) > 0
        untouched = await copies_on(keys, first, file_id)
        assert untouched is not None and untouched["description"] == "before"  # no partial change

        accepted = await client.delete(f"/api/v1/files/{file_id}", headers=bearer(token))
        assert accepted.status_code == 202, accepted.text
        saga_id = accepted.json()["saga_id"]
        deadline = time.monotonic() + 30
        while True:  # the reachable copy goes at once; the stopped SE's copy is retried
            saga = (await client.get(f"/api/v1/sagas/{saga_id}", headers=bearer(token))).json()
            if saga["attempts"] >= 2:
                break
            assert time.monotonic() < deadline, saga
            await asyncio.sleep(0.1)
        assert saga["state"] == "running" and "edit-b" in saga["error"], saga
        assert await copies_on(keys, first, file_id) is None

        second.process.start()
        saga = await _wait_saga(client, saga_id, token)
    assert saga["state"] == "completed", saga
    assert await copies_on(keys, second, file_id) is None
