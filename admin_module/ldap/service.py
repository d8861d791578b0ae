"""Directory logins and the directory sync, framework-free (STYLE.md habit 3).

Login: :class:`LdapAuthenticator` is what the password grant calls for LDAP users and for
usernames unknown locally (``admin_module/auth/directory.py``). It binds as the person
(live bind, the password is never stored), then creates or refreshes their user row:
source ``LDAP``, ``ldap_dn``, names, e-mail and the role of their groups. The grant then
applies lockout, rate limits and audit exactly as for LOCAL users.

Sync: :func:`apply_snapshot` makes the users table agree with the directory: people under
the users base are created or updated; LDAP users who moved under the dismissed base, lost
every mapped group or are gone are set ``INACTIVE`` and their refresh tokens revoked. A
LOCAL user keeps its username unless ``precedence`` is ``ldap``, in which case the sync, or
the person's first directory login, turns it into the directory's user (its local password
stops working).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.audit import service as audit
from admin_module.audit.schemas import Actor
from admin_module.auth import repository as tokens_repo
from admin_module.auth.directory import DirectoryRefused, UnknownToDirectory
from admin_module.auth.directory import DirectoryUnavailable as SeamUnavailable
from admin_module.deps import RequestContext
from admin_module.ldap import repository
from admin_module.ldap.directory import Directory, DirectorySnapshot, DirectoryUser
from admin_module.ldap.errors import (
    AccountDismissed,
    DirectoryUnavailable,
    InvalidCredentials,
    NotInDirectory,
)
from admin_module.ldap.roles import role_for
from admin_module.ldap.schemas import SyncReport
from admin_module.ldap.settings import ROLE_RANK, LdapSettings, Role
from admin_module.users import repository as users
from admin_module.users.errors import LastAdmin
from admin_module.users.service import guard_last_admin

log = logging.getLogger("artstore.admin.ldap")

SYSTEM = Actor(id="ldap-sync", username="ldap-sync", kind="system")
NO_ROLE = "no ArtStore role: the directory account is in none of the groups mapped to a role"
DISMISSED = "the directory account is dismissed"
LAST_ADMIN_KEPT = "this is the last active ADMIN (make another ADMIN first)"
LAST_ADMIN = (
    "the directory no longer makes this account an ADMIN, but it is the last active ADMIN: "
    "make another ADMIN first"
)


@dataclass
class LdapAuthenticator:
    """The password grant's directory authenticator (the seam in ``auth/directory.py``)."""

    directory: Directory
    settings: LdapSettings

    async def authenticate(
        self, session: AsyncSession, *, username: str, password: str, user: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        local = user is not None and user["source"] == "LOCAL"
        if local:
            await self._claim(username)
        try:
            person = await self.directory.authenticate(username, password)
        except DirectoryUnavailable as exc:
            raise SeamUnavailable(exc.detail) from exc
        except AccountDismissed as exc:
            if (
                user is not None
                and not local
                and user["status"] in ("ACTIVE", "LOCKED")
                and not await removes_last_admin(session, user, role=user["role"], status="INACTIVE")
            ):
                await deactivate(session, user, reason="dismissed", ctx=None)
            raise DirectoryRefused(DISMISSED) from exc
        except (NotInDirectory, InvalidCredentials):
            return None
        role = role_for(person.groups, self.settings.group_roles)
        if role is None:
            raise DirectoryRefused(NO_ROLE)
        if user is not None and await removes_last_admin(session, user, role=role, status=user["status"]):
            raise DirectoryRefused(LAST_ADMIN)
        if user is not None and local:
            user = await take_over(session, user)
        return await upsert_person(session, person, role, existing=user, actor=None)

    async def _claim(self, username: str) -> None:
        """A LOCAL account (``precedence=ldap``) is the directory's only for a person of its own
        with a role; else its local password decides, as the sync leaves it alone too."""
        try:
            person = await self.directory.find_user(username)
        except DirectoryUnavailable as exc:
            raise SeamUnavailable(exc.detail) from exc
        if person is None or person.dismissed or role_for(person.groups, self.settings.group_roles) is None:
            raise UnknownToDirectory(f"the directory does not claim {username}")


# ---------------------------------------------------------------- user rows


def _fields(person: DirectoryUser, role: Role, now: datetime) -> dict[str, Any]:
    return {
        "email": person.email,
        "full_name": person.full_name or _joined(person.given_name, person.surname),
        "role": role,
        "ldap_dn": person.dn,
        "last_sync_at": now,
    }


def _joined(*parts: str | None) -> str | None:
    return " ".join(p for p in parts if p) or None


async def upsert_person(
    session: AsyncSession,
    person: DirectoryUser,
    role: Role,
    *,
    existing: dict[str, Any] | None,
    actor: Actor | None,
) -> dict[str, Any] | None:
    """Create or refresh the LDAP user row of ``person``; None when a LOCAL user holds the name."""
    now = datetime.now(UTC)
    fields = _fields(person, role, now)
    if existing is None:
        inserted = await repository.insert_if_absent(
            session,
            id=uuid.uuid4(),
            username=person.username,
            status="ACTIVE",
            source="LDAP",
            failed_login_count=0,
            created_at=now,
            updated_at=now,
            **fields,
        )
        row = await users.by_username(session, person.username, for_update=True)
        if inserted and row is not None:
            await audit.record(
                session,
                action="user.created",
                actor=actor or SYSTEM,
                target=person.username,
                details={"source": "LDAP", "role": role, "ldap_dn": person.dn},
            )
            return row
        existing = row  # created meanwhile by a concurrent login or sync
    if existing is None or existing["source"] != "LDAP":
        return None
    changed = {k: v for k, v in fields.items() if k != "last_sync_at" and existing.get(k) != v}
    await users.update(session, existing["id"], **fields, **({"updated_at": now} if changed else {}))
    if changed:
        await audit.record(
            session,
            action="user.updated",
            actor=actor or SYSTEM,
            target=existing["username"],
            details={"source": "LDAP", "changed": sorted(changed)},
        )
    return existing | fields


async def deactivate(
    session: AsyncSession, user: dict[str, Any], *, reason: str, ctx: RequestContext | None
) -> int:
    """INACTIVE and every refresh token revoked (access tokens run out within their lifetime)."""
    now = datetime.now(UTC)
    await users.update(session, user["id"], status="INACTIVE", updated_at=now, last_sync_at=now)
    revoked = await tokens_repo.revoke_user(session, user["id"], now, f"ldap_{reason}")
    await audit.record(
        session,
        action="user.deactivated",
        ctx=ctx,
        actor=SYSTEM,
        target=user["username"],
        details={"source": "LDAP", "reason": reason, "refresh_tokens_revoked": revoked},
    )
    log.info("ldap_user_deactivated", extra={"username": user["username"], "reason": reason})
    return revoked


# ---------------------------------------------------------------- sync


async def apply_snapshot(
    session: AsyncSession, snapshot: DirectorySnapshot, settings: LdapSettings, report: SyncReport
) -> None:
    """Make the users table agree with ``snapshot`` (the caller holds the sync lock).

    The deactivations are planned first: a run that would deactivate too many people (see
    :func:`too_many_leaving`) changes nothing and says why in ``report.aborted``."""
    names = [p.username for p in snapshot.active + snapshot.dismissed if p.username]
    rows = {r["username"].lower(): r for r in await repository.users_for_sync(session, names)}
    people = _distinct(snapshot.active, report)
    staying = {key for key, person in people.items() if role_for(person.groups, settings.group_roles)}
    current = [r for r in rows.values() if r["source"] == "LDAP" and r["status"] in ("ACTIVE", "LOCKED")]
    leaving = [r for r in current if r["username"].lower() not in staying]
    if too_many_leaving(len(leaving), len(current), settings):
        report.aborted = (
            f"this run would deactivate {len(leaving)} of {len(current)} active directory users, more "
            f"than the limit ({settings.sync_max_deactivation_ratio:.0%}); nothing was changed: check "
            "the directory and the LDAP settings (users base, filter, group mapping)"
        )
        report.errors.append(report.aborted)
        return
    # New and promoted ADMINs first, so that a run handing ADMIN over from one person to
    # another does not trip the last-ADMIN rule.
    for key, person in sorted(people.items(), key=lambda item: -_rank(item[1], settings)):
        await _apply_person(session, person, rows.get(key), settings, report)
    dismissed = {p.username.lower() for p in snapshot.dismissed}
    for row in leaving:
        if await removes_last_admin(session, row, role=row["role"], status="INACTIVE"):
            report.errors.append(f"{row['username']}: not deactivated: {LAST_ADMIN_KEPT}")
            continue
        key = row["username"].lower()
        reason = "dismissed" if key in dismissed else "no_role" if key in people else "gone"
        await deactivate(session, row, reason=reason, ctx=None)
        report.deactivated += 1


async def removes_last_admin(session: AsyncSession, row: dict[str, Any], *, role: str, status: str) -> bool:
    """True when giving ``row`` this role and status would leave no ACTIVE ADMIN (users' rule)."""
    try:
        await guard_last_admin(session, row, role=role, status=status)
    except LastAdmin:
        return True
    return False


def _rank(person: DirectoryUser, settings: LdapSettings) -> int:
    role = role_for(person.groups, settings.group_roles)
    return ROLE_RANK[role] if role else 0


def too_many_leaving(leaving: int, active: int, settings: LdapSettings) -> bool:
    """More than the floor and more than the allowed share of the active LDAP users."""
    limit = active * settings.sync_max_deactivation_ratio
    return leaving > settings.sync_deactivation_floor and leaving > limit


def _distinct(people: list[DirectoryUser], report: SyncReport) -> dict[str, DirectoryUser]:
    """The directory's people by lower-cased username; nameless and repeated names are reported."""
    found: dict[str, DirectoryUser] = {}
    for person in people:
        key = person.username.lower()
        if not key or key in found:
            report.errors.append(f"{person.dn}: {'no' if not key else 'duplicate'} username")
            continue
        found[key] = person
    return found


async def _apply_person(
    session: AsyncSession,
    person: DirectoryUser,
    row: dict[str, Any] | None,
    settings: LdapSettings,
    report: SyncReport,
) -> None:
    role = role_for(person.groups, settings.group_roles)
    if row is not None and row["source"] == "LOCAL" and settings.precedence == "local":
        report.errors.append(f"{person.username}: a LOCAL user has this name and keeps it")
        return
    if role is None:
        return  # an LDAP row is deactivated by the caller; a LOCAL one is left alone
    if row is not None and await removes_last_admin(session, row, role=role, status=row["status"]):
        report.errors.append(f"{person.username}: not demoted to {role}: {LAST_ADMIN_KEPT}")
        return
    if row is not None and row["source"] == "LOCAL":
        row = await take_over(session, row)
    if row is None:
        report.created += 1
    elif _differs(row, person, role):
        report.updated += 1
    else:
        report.unchanged += 1
    await upsert_person(session, person, role, existing=row, actor=SYSTEM)


async def take_over(session: AsyncSession, row: dict[str, Any]) -> dict[str, Any]:
    """``precedence=ldap``: the directory's person takes a LOCAL account over; its password goes."""
    await users.update(session, row["id"], source="LDAP", password_hash=None)
    return row | {"source": "LDAP", "password_hash": None}


def _differs(row: dict[str, Any], person: DirectoryUser, role: Role) -> bool:
    fields = _fields(person, role, datetime.now(UTC))
    return any(row.get(k) != v for k, v in fields.items() if k != "last_sync_at")
