"""What ``GET /api/v1/ldap/status`` reports: a live connection probe and the last sync runs."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.ldap import repository
from admin_module.ldap.directory import Directory
from admin_module.ldap.errors import DirectoryUnavailable
from admin_module.ldap.schemas import ConnectionStatus, LastSync, LdapStatus
from admin_module.ldap.settings import LdapSettings


async def current(session: AsyncSession, directory: Directory | None, settings: LdapSettings) -> LdapStatus:
    last = await repository.last_sync(session)
    last_ok = await repository.last_sync(session, successful=True)
    return LdapStatus(
        enabled=directory is not None,
        urls=settings.urls,
        sync_interval_seconds=settings.sync_interval_seconds,
        sync_max_deactivation_ratio=settings.sync_max_deactivation_ratio,
        connection=await probe(directory),
        last_sync=_last(last),
        last_successful_sync_at=last_ok["occurred_at"] if last_ok else None,
    )


async def probe(directory: Directory | None) -> ConnectionStatus:
    if directory is None:
        return ConnectionStatus(state="disabled")
    with contextlib.suppress(DirectoryUnavailable):
        await directory.ping()  # records the outcome in directory.state
    state = directory.state
    checked = datetime.fromtimestamp(state.checked_at, UTC) if state.checked_at else None
    return ConnectionStatus(
        state="up" if state.reachable else "down", server=state.server, error=state.error, checked_at=checked
    )


def _last(row: dict[str, Any] | None) -> LastSync | None:
    if row is None:
        return None
    details = row["details"] or {}
    return LastSync(
        at=row["occurred_at"],
        outcome=row["outcome"],
        trigger=details.get("trigger"),
        created=details.get("created", 0),
        updated=details.get("updated", 0),
        deactivated=details.get("deactivated", 0),
        errors=details.get("errors", []),
        aborted=details.get("aborted"),
    )
