"""The token endpoint's grants, revocation, lockout and the LDAP seam.

Each grant manages its own unit of work: a failed login must still commit its failure count,
lockout and audit event before the error goes back, so errors are raised after the
transaction has committed, never inside it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_module.audit import service as audit
from admin_module.audit.schemas import Actor
from admin_module.auth import repository, tokens
from admin_module.auth.directory import (
    DirectoryAuthenticator,
    DirectoryRefused,
    DirectoryUnavailable,
    UnknownToDirectory,
)
from admin_module.auth.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    OAuthError,
    TemporarilyUnavailable,
)
from admin_module.auth.ratelimit import RateLimiter
from admin_module.deps import RequestContext
from admin_module.keys.service import KeyRing
from admin_module.scopes import ROLE_SCOPES
from admin_module.service_accounts import repository as accounts
from admin_module.settings import Settings
from admin_module.users import repository as users
from admin_module.users.passwords import PasswordHasher
from shared.auth import scope_string
from shared.db import unit_of_work

log = logging.getLogger("artstore.admin.auth")

BAD_CREDENTIALS = "invalid username or password"


@dataclass
class AuthEnv:
    """What the grants need, taken from ``app.state`` per request."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    hasher: PasswordHasher
    ring: KeyRing
    limiter: RateLimiter
    directory: DirectoryAuthenticator | None = None


@dataclass
class LoginResult:
    user: dict[str, Any] | None
    error: OAuthError | None = None
    reason: str = "ok"


def _user_actor(user: dict[str, Any]) -> Actor:
    return Actor(id=str(user["id"]), username=user["username"], kind="user")


def _granted(requested: str | None, allowed: frozenset[str]) -> frozenset[str]:
    if not requested:
        return allowed
    wanted = frozenset(requested.split())
    if not wanted <= allowed:
        raise InvalidScope(f"scope not allowed: {scope_string(wanted - allowed)}")
    return wanted


def _live_lock(user: dict[str, Any], now: datetime) -> bool:
    return bool(user["status"] == "LOCKED" and (user["locked_until"] is None or user["locked_until"] > now))


def _locked_message(until: datetime | None) -> str:
    return "account is locked" + (f" until {until.astimezone(UTC).isoformat()}" if until else "")


async def authenticate_password(
    session: AsyncSession, *, env: AuthEnv, username: str, password: str
) -> LoginResult:
    """The one place a username and password are checked (LOCAL here, LDAP by delegation;
    with ``precedence=ldap`` a LOCAL account the directory also knows is the directory's).

    Every path does exactly one bcrypt check for LOCAL and unknown users, so an unknown
    username costs the same as a wrong password."""
    user = await users.by_username(session, username, for_update=True)
    now = datetime.now(UTC)
    if user is not None and _live_lock(user, now):
        # Refused before any password check, so a locked directory account costs no directory
        # bind (guesses never reach the directory); one bcrypt check, like every other refusal.
        await env.hasher.verify(password, None)
        return LoginResult(user, InvalidGrant(_locked_message(user["locked_until"])), "locked")
    if _asks_directory(env, user):
        verdict = await _directory_verdict(session, env, user, username=username, password=password)
        if verdict is not None:
            return verdict
    ok = await env.hasher.verify(password, None if user is None else user["password_hash"])
    return _outcome(user, ok)


def _asks_directory(env: AuthEnv, user: dict[str, Any] | None) -> bool:
    """LDAP users; with a directory also unknown names and, with ``precedence=ldap``, LOCAL ones."""
    if user is not None and user["source"] == "LDAP":
        return True
    return env.directory is not None and (user is None or env.settings.ldap.precedence == "ldap")


async def _directory_verdict(
    session: AsyncSession, env: AuthEnv, user: dict[str, Any] | None, *, username: str, password: str
) -> LoginResult | None:
    """The directory's answer, or None when the local password decides: a LOCAL account the
    directory does not claim, and every LOCAL account while the directory is down (so the
    bootstrap admin can always log in)."""
    local = user is not None and user["source"] == "LOCAL"
    if env.directory is None:
        await env.hasher.verify(password, None)
        return LoginResult(user, InvalidGrant(BAD_CREDENTIALS), "no_directory")
    try:
        found = await env.directory.authenticate(session, username=username, password=password, user=user)
    except UnknownToDirectory:
        return None
    except DirectoryUnavailable:
        if local:
            return None
        return LoginResult(user, TemporarilyUnavailable("the directory is unreachable"), "directory_down")
    except DirectoryRefused as exc:
        return LoginResult(user, InvalidGrant(str(exc)), "directory_refused")
    if found is None:  # as much bcrypt work as a LOCAL wrong password: no enumeration by timing
        await env.hasher.verify(password, None)
    # A wrong password returns None: keep the known row so the failure counts toward lockout.
    return _outcome(found or user, found is not None)


def _outcome(user: dict[str, Any] | None, ok: bool) -> LoginResult:
    if not ok or user is None:
        return LoginResult(user, InvalidGrant(BAD_CREDENTIALS), "bad_credentials")
    if user["status"] not in ("ACTIVE", "LOCKED"):
        return LoginResult(user, InvalidGrant("account is not active"), "inactive")
    return LoginResult(user)


async def _register_failure(
    session: AsyncSession, env: AuthEnv, user: dict[str, Any], ctx: RequestContext
) -> None:
    """Count a failed login; the threshold-th failure inside the window locks the account."""
    settings, now = env.settings, datetime.now(UTC)
    started = user["failed_window_started_at"]
    values: dict[str, Any] = {}
    lock_expired = user["status"] == "LOCKED"  # a live lock never gets here (reason "locked")
    if lock_expired:
        values |= {"status": "ACTIVE", "locked_until": None}
    if lock_expired or started is None or now - started > timedelta(seconds=settings.lockout_window_seconds):
        count, started = 1, now
    else:
        count = user["failed_login_count"] + 1
    values |= {"failed_login_count": count, "failed_window_started_at": started}
    if count >= settings.lockout_threshold and user["status"] in ("ACTIVE", "LOCKED"):
        until = now + timedelta(seconds=settings.lockout_duration_seconds)
        values |= {"status": "LOCKED", "locked_until": until}
        await audit.record(
            session,
            action="user.locked",
            ctx=ctx,
            target=user["username"],
            details={"locked_until": until.isoformat(), "failures": count},
        )
    await users.update(session, user["id"], **values)


async def password_grant(
    env: AuthEnv, *, username: str, password: str, scope: str | None, ctx: RequestContext
) -> tokens.Issued:
    settings = env.settings
    await env.limiter.hit(f"ip:{ctx.client_ip}", settings.rate_limit_per_ip)
    await env.limiter.hit(f"user:{username.lower()}", settings.rate_limit_per_username)
    async with unit_of_work(env.sessions) as session:
        result = await authenticate_password(session, env=env, username=username, password=password)
        if result.error is None and result.user is not None:
            return await _login_success(session, env, result.user, scope, ctx)
        if result.user is not None and result.reason == "bad_credentials":
            await _register_failure(session, env, result.user, ctx)
        await audit.record(
            session,
            action="auth.login",
            ctx=ctx,
            outcome="failure",
            target=username,
            details={"reason": result.reason},
        )
    raise result.error or InvalidGrant(BAD_CREDENTIALS)


async def _login_success(
    session: AsyncSession, env: AuthEnv, user: dict[str, Any], scope: str | None, ctx: RequestContext
) -> tokens.Issued:
    granted = _granted(scope, ROLE_SCOPES[user["role"]])
    now = datetime.now(UTC)
    await users.update(
        session,
        user["id"],
        failed_login_count=0,
        failed_window_started_at=None,
        locked_until=None,
        status="ACTIVE",
        last_login_at=now,
    )
    issued = await _issue_user_tokens(session, env, user, granted, family=uuid.uuid4())
    await audit.record(
        session,
        action="auth.login",
        ctx=ctx,
        actor=_user_actor(user),
        target=user["username"],
        details={"scope": issued.scope},
    )
    return issued


async def _issue_user_tokens(
    session: AsyncSession, env: AuthEnv, user: dict[str, Any], scopes: frozenset[str], *, family: uuid.UUID
) -> tokens.Issued:
    settings = env.settings
    access = await tokens.access_token(
        session,
        ring=env.ring,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=settings.access_token_lifetime_seconds,
        subject=str(user["id"]),
        username=user["username"],
        kind="user",
        role=user["role"],
        scopes=scopes,
    )
    refresh = await tokens.refresh_token(
        session,
        user_id=user["id"],
        family_id=family,
        scope=scope_string(scopes),
        lifetime=settings.refresh_token_lifetime_seconds,
    )
    return tokens.Issued(access, settings.access_token_lifetime_seconds, scope_string(scopes), refresh)


async def refresh_grant(
    env: AuthEnv, *, refresh_token: str, scope: str | None, ctx: RequestContext
) -> tokens.Issued:
    await env.limiter.hit(f"ip:{ctx.client_ip}", env.settings.rate_limit_per_ip)
    error: OAuthError
    async with unit_of_work(env.sessions) as session:
        now = datetime.now(UTC)
        row = await repository.refresh_by_hash(session, tokens.hash_opaque(refresh_token))
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
            error = InvalidGrant("refresh token is invalid, expired or revoked")
        elif row["used_at"] is not None:
            # Reuse of a rotated token: someone holds a copy. End the whole session family.
            revoked = await repository.revoke_family(session, row["family_id"], now, "reuse_detected")
            await audit.record(
                session,
                action="token.refresh_reuse",
                ctx=ctx,
                outcome="failure",
                target=str(row["user_id"]),
                details={"family_id": str(row["family_id"]), "revoked": revoked},
            )
            error = InvalidGrant("refresh token was already used; the session has been revoked")
        else:
            user = await users.get(session, row["user_id"])
            if user is None or user["status"] != "ACTIVE":
                error = InvalidGrant("account is not active")
            else:
                await repository.mark_used(session, row["id"], now)
                allowed = frozenset(row["scope"].split()) & ROLE_SCOPES[user["role"]]
                issued = await _issue_user_tokens(
                    session, env, user, _granted(scope, allowed), family=row["family_id"]
                )
                await audit.record(
                    session,
                    action="token.refreshed",
                    ctx=ctx,
                    actor=_user_actor(user),
                    target=user["username"],
                    details={"family_id": str(row["family_id"])},
                )
                return issued
    raise error


async def client_credentials_grant(
    env: AuthEnv, *, client_id: str, client_secret: str, scope: str | None, ctx: RequestContext
) -> tokens.Issued:
    settings = env.settings
    await env.limiter.hit(f"ip:{ctx.client_ip}", settings.rate_limit_per_ip)
    await env.limiter.hit(f"client:{client_id}", settings.rate_limit_per_username)
    error: OAuthError
    async with unit_of_work(env.sessions) as session:
        account = await accounts.by_client_id(session, client_id)
        ok = await env.hasher.verify(client_secret, None if account is None else account["secret_hash"])
        now = datetime.now(UTC)
        if account is None or not ok:
            error, reason = InvalidClient("invalid client credentials"), "bad_credentials"
        elif account["status"] != "ACTIVE":
            error, reason = InvalidClient("client is not active"), "inactive"
        elif account["secret_expires_at"] is not None and account["secret_expires_at"] <= now:
            error, reason = InvalidClient("client secret has expired"), "secret_expired"
        else:
            granted = _granted(scope, frozenset(account["scopes"]))
            await accounts.update(session, account["id"], last_used_at=now)
            access = await tokens.access_token(
                session,
                ring=env.ring,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                lifetime=settings.access_token_lifetime_seconds,
                subject=account["client_id"],
                username=account["client_id"],
                kind="service",
                role=None,
                scopes=granted,
            )
            await audit.record(
                session,
                action="token.issued",
                ctx=ctx,
                actor=Actor(id=account["client_id"], username=account["client_id"], kind="service"),
                target=account["client_id"],
                details={"scope": scope_string(granted)},
            )
            return tokens.Issued(access, settings.access_token_lifetime_seconds, scope_string(granted))
        await audit.record(
            session,
            action="auth.client_credentials",
            ctx=ctx,
            outcome="failure",
            target=client_id,
            details={"reason": reason},
        )
    raise error


async def revoke(env: AuthEnv, *, token: str, ctx: RequestContext) -> None:
    """RFC 7009: revoking a refresh token ends its session family; unknown tokens are ignored."""
    async with unit_of_work(env.sessions) as session:
        row = await repository.refresh_by_hash(session, tokens.hash_opaque(token))
        if row is None:
            return
        revoked = await repository.revoke_family(session, row["family_id"], datetime.now(UTC), "revoked")
        await audit.record(
            session,
            action="token.revoked",
            ctx=ctx,
            target=str(row["user_id"]),
            details={"family_id": str(row["family_id"]), "revoked": revoked},
        )
