"""Who may call the mode and maintenance endpoints (ARCHITECTURE.md section 4): OPERATOR+
people and services holding ``storage:read`` / ``storage:admin``; everyone else gets 403,
and a refused call changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from shared.outbox import outbox_table
from tests.storage_element.conftest import INGESTER_SCOPES, SE
from tests.support.tokens import TestKeys

ADMIN_CALLS = [  # (method, path, body): each needs storage:admin
    ("POST", "/api/v1/mode", {"mode": "ro"}),
    ("POST", "/api/v1/maintenance/reindex", None),
    ("POST", "/api/v1/maintenance/consistency", None),
    ("GET", "/api/v1/maintenance/consistency", None),
    ("POST", "/api/v1/maintenance/scrub", None),
    ("GET", "/api/v1/maintenance/jobs/{job}", None),
]
READ_CALL = ("GET", "/api/v1/mode", None)  # storage:read


CALLERS: dict[str, tuple[Callable[[TestKeys], str], bool]] = {  # name -> (token, may read the mode)
    "a USER": (lambda k: k.user("USER", "ulla"), False),
    "a USER whose token carries storage scopes": (
        lambda k: k.token(role="USER", preferred_username="uwe", scope="storage:read storage:admin"),
        False,
    ),
    "a service without storage scopes": (lambda k: k.service("svc-ingester", INGESTER_SCOPES), False),
    "a service with storage:read only": (lambda k: k.service("svc-admin", "storage:read"), True),
    "a service with an unknown scope": (
        lambda k: k.service("svc-admin", "storage:read storage:admin storage:everything"),
        False,
    ),
}


async def _call(se: SE, call: tuple[str, str, dict[str, str] | None], token: str, job: str) -> int:
    method, path, body = call
    headers = {"Authorization": f"Bearer {token}"}
    response = await se.client.request(method, path.format(job=job), json=body, headers=headers)
    if response.status_code == 403:
        assert response.json()["code"] == "forbidden"
    return response.status_code


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_mode_and_maintenance_refuse_callers_without_the_right(se: SE, caller: str) -> None:
    make_token, may_read = CALLERS[caller]
    token = make_token(se.keys)
    started = await se.client.post("/api/v1/maintenance/consistency", headers=se.admin())
    assert started.status_code == 202
    job = started.json()["job_id"]
    for call in ADMIN_CALLS:
        assert await _call(se, call, token, job) == 403, f"{caller}: {call}"
    assert await _call(se, READ_CALL, token, job) == (200 if may_read else 403), caller
    # Nothing happened: no mode change (nor its feed entry or audit event), no new job.
    assert se.store.mode.current == "rw"
    assert list(se.app.state.jobs.jobs) == [job]
    assert [i["mode"] for i in (await se.changes())["items"] if i["op"] == "mode"] == ["rw"]
    async with se.store.sessions() as session:
        actions = (await session.scalars(sa.select(outbox_table.c.event["action"].astext))).all()
    assert "storage.mode_change" not in actions


async def test_operators_and_storage_admin_services_may_call(se: SE) -> None:
    service = se.keys.service("svc-admin", "storage:read storage:admin")
    for token in (se.keys.user("OPERATOR", "olga"), se.keys.user("ADMIN", "adam"), service):
        started = await se.client.post(
            "/api/v1/maintenance/consistency", headers={"Authorization": f"Bearer {token}"}
        )
        assert started.status_code == 202
        job = started.json()["job_id"]
        for call in [READ_CALL, *ADMIN_CALLS[1:]]:
            assert await _call(se, call, token, job) in (200, 202), call
    assert await _call(se, ADMIN_CALLS[0], service, "") == 200
    assert se.store.mode.current == "ro"
