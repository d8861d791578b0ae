"""``/api/v1/ldap/sync`` and ``/api/v1/ldap/status`` (ADMIN)."""

from __future__ import annotations

from fastapi import APIRouter

from admin_module.audit.schemas import actor_of
from admin_module.deps import AdminDep, ContextDep, SessionDep, SettingsDep, StateDep
from admin_module.ldap import status as ldap_status
from admin_module.ldap.errors import DirectoryDisabled
from admin_module.ldap.runner import run_sync
from admin_module.ldap.schemas import LdapStatus, SyncReport

router = APIRouter(prefix="/api/v1/ldap", tags=["ldap"])


@router.post("/sync", response_model=SyncReport)
async def sync_now(state: StateDep, principal: AdminDep, ctx: ContextDep) -> SyncReport:
    directory = getattr(state, "directory", None)
    if directory is None:
        raise DirectoryDisabled("set ARTSTORE_ADMIN_LDAP_URLS to use a directory")
    report = await run_sync(state.sessions, directory, trigger="manual", actor=actor_of(principal), ctx=ctx)
    return report or SyncReport(trigger="manual")  # a manual run waits for the lock: never None


@router.get("/status", response_model=LdapStatus)
async def read_status(session: SessionDep, state: StateDep, settings: SettingsDep, _: AdminDep) -> LdapStatus:
    return await ldap_status.current(session, getattr(state, "directory", None), settings.ldap)
