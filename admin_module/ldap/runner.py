"""Running the sync (on demand and every ``sync_interval_seconds``) and wiring the directory in.

Every replica runs :func:`sync_loop`; a run takes a Postgres advisory lock in its
transaction and skips when another replica holds it or ran recently enough, so the
fleet syncs once per interval whatever the replica count (ARCHITECTURE.md §5).
Each run, failed or not, leaves one ``ldap.sync`` event in the audit log.

:func:`directory_integration` is the lifespan part: it installs the authenticator on
``app.state.directory_authenticator`` (the password grant's seam), registers the optional
``ldap`` readiness check (a directory outage makes readiness ``degraded``, not ``fail``)
and runs the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_module.audit import service as audit
from admin_module.audit.schemas import Actor
from admin_module.deps import RequestContext
from admin_module.ldap import repository
from admin_module.ldap.directory import Directory
from admin_module.ldap.errors import DirectoryUnavailable, MissingBase
from admin_module.ldap.schemas import SyncReport
from admin_module.ldap.service import SYSTEM, LdapAuthenticator, apply_snapshot
from admin_module.ldap.settings import LdapSettings
from shared.db import unit_of_work
from shared.tasks import cancel_and_wait

log = logging.getLogger("artstore.admin.ldap")

MAX_TICK_SECONDS = 60.0


async def run_sync(
    sessions: async_sessionmaker[AsyncSession],
    directory: Directory,
    *,
    trigger: Literal["manual", "scheduled"],
    actor: Actor | None = None,
    ctx: RequestContext | None = None,
) -> SyncReport | None:
    """One sync. ``manual`` waits for the lock; ``scheduled`` returns None when it is not due.

    A run that finds a users or groups base missing, or would deactivate too many people, is
    aborted: it changes no user, and its report (and the audit event, outcome ``failure``)
    says why in ``aborted``."""
    settings = directory.settings
    report = SyncReport(trigger=trigger, started_at=datetime.now(UTC))
    failure: DirectoryUnavailable | None = None
    async with unit_of_work(sessions) as session:
        if trigger == "manual":
            await repository.lock_sync(session)
        elif not await repository.try_lock_sync(session) or not await _due(session, settings):
            return None
        try:
            snapshot = await directory.snapshot()
        except DirectoryUnavailable as exc:
            failure = exc
            report.errors.append(exc.detail)
        except MissingBase as exc:
            report.aborted = f"{exc.detail}; nothing was changed"
            report.errors.append(report.aborted)
        else:
            await apply_snapshot(session, snapshot, settings, report)
        report.finished_at = datetime.now(UTC)
        await audit.record(
            session,
            action=repository.SYNC_ACTION,
            ctx=ctx,
            actor=actor or SYSTEM,
            outcome="failure" if failure or report.aborted else "success",
            details=report.model_dump(mode="json"),
        )
    if report.aborted:
        log.warning("ldap_sync_aborted", extra={"report": report.model_dump(mode="json")})
    else:
        log.info("ldap_sync", extra={"report": report.model_dump(mode="json")})
    if failure:
        raise failure
    return report


async def _due(session: AsyncSession, settings: LdapSettings) -> bool:
    last = await repository.last_sync(session)
    if last is None:
        return True
    # A little slack so that replicas ticking at slightly different times do not skip a round.
    due_at = last["occurred_at"] + timedelta(seconds=settings.sync_interval_seconds * 0.95)
    return bool(datetime.now(UTC) >= due_at)


async def sync_loop(sessions: async_sessionmaker[AsyncSession], directory: Directory) -> None:
    tick = min(directory.settings.sync_interval_seconds, MAX_TICK_SECONDS)
    while True:
        await asyncio.sleep(tick)
        try:
            await run_sync(sessions, directory, trigger="scheduled")
        except DirectoryUnavailable as exc:
            log.warning("ldap_sync_unavailable", extra={"error": exc.detail})
        except Exception:  # a bad run must not end the loop; the next tick tries again
            log.exception("ldap_sync_failed")


@contextlib.asynccontextmanager
async def directory_integration(
    app: FastAPI, settings: LdapSettings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Directory | None]:
    """Install the directory for the app's lifetime; nothing at all when no URL is configured."""
    if not settings.enabled:
        app.state.directory = None
        yield None
        return
    directory = Directory(settings)
    app.state.directory = directory
    app.state.directory_authenticator = LdapAuthenticator(directory, settings)
    # The probe answers within the registry's default timeout; a slower directory counts as down.
    app.state.health.add("ldap", directory.ping, required=False)
    task = asyncio.create_task(sync_loop(sessions, directory), name="ldap-sync")
    try:
        yield directory
    finally:
        await cancel_and_wait([task])
        app.state.directory_authenticator = None
