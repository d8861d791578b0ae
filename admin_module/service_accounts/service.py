"""Service accounts: create (secret shown once), update, delete, rotate the secret; fleet seeding.

Secrets are 32 random bytes (URL-safe base64) stored as bcrypt hashes and expire after
``service_secret_lifetime_days``. The fleet's own accounts are owned by configuration: their
secrets come from ``fleet_secrets`` and do not expire.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.audit import service as audit
from admin_module.audit.schemas import Actor
from admin_module.deps import RequestContext
from admin_module.scopes import FLEET_ACCOUNTS, unknown
from admin_module.service_accounts import repository
from admin_module.service_accounts.errors import ClientIdTaken, ServiceAccountNotFound, UnknownScope
from admin_module.service_accounts.schemas import (
    ServiceAccountCreate,
    ServiceAccountOut,
    ServiceAccountPage,
    ServiceAccountUpdate,
    ServiceAccountWithSecret,
)
from admin_module.settings import Settings
from admin_module.users.passwords import PasswordHasher
from shared.errors import Conflict

log = logging.getLogger("artstore.admin.service_accounts")


def to_out(row: dict[str, Any]) -> ServiceAccountOut:
    return ServiceAccountOut.model_validate({**row, "scopes": sorted(row["scopes"])})


def _with_secret(row: dict[str, Any], secret: str) -> ServiceAccountWithSecret:
    return ServiceAccountWithSecret.model_validate(
        {**row, "scopes": sorted(row["scopes"]), "client_secret": secret}
    )


def _check_scopes(scopes: list[str]) -> list[str]:
    bad = unknown(scopes)
    if bad:
        raise UnknownScope(f"unknown scopes: {' '.join(bad)}")
    return sorted(set(scopes))


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63]
    return slug if len(slug) >= 2 else f"sa-{uuid.uuid4().hex[:8]}"


async def _require(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    row = await repository.get(session, account_id)
    if row is None or row["status"] == "DELETED":
        raise ServiceAccountNotFound(f"no service account {account_id}")
    return row


async def create(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    body: ServiceAccountCreate,
    actor: Actor,
    ctx: RequestContext,
) -> ServiceAccountWithSecret:
    scopes = _check_scopes(body.scopes)
    client_id = body.client_id or _slug(body.name)
    if await repository.by_client_id(session, client_id) is not None:
        raise ClientIdTaken(f"client id {client_id!r} is taken")
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    account_id = uuid.uuid4()
    await repository.insert(
        session,
        id=account_id,
        client_id=client_id,
        name=body.name,
        secret_hash=await hasher.hash(secret),
        scopes=scopes,
        status="ACTIVE",
        fleet=False,
        created_at=now,
        updated_at=now,
        secret_rotated_at=now,
        secret_expires_at=now + timedelta(days=settings.service_secret_lifetime_days),
    )
    await audit.record(
        session,
        action="service_account.created",
        ctx=ctx,
        actor=actor,
        target=client_id,
        details={"scopes": scopes},
    )
    return _with_secret(await _require(session, account_id), secret)


async def list_accounts(
    session: AsyncSession, *, status: str | None, cursor: str | None, limit: int
) -> ServiceAccountPage:
    rows, total = await repository.search(session, status=status, after=cursor, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return ServiceAccountPage(
        items=[to_out(r) for r in rows], next_cursor=rows[-1]["client_id"] if more else None, total=total
    )


async def get(session: AsyncSession, account_id: uuid.UUID) -> ServiceAccountOut:
    return to_out(await _require(session, account_id))


async def update(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    body: ServiceAccountUpdate,
    actor: Actor,
    ctx: RequestContext,
) -> ServiceAccountOut:
    row = await _require(session, account_id)
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if "scopes" in changes:
        changes["scopes"] = _check_scopes(changes["scopes"])
    if changes:
        await repository.update(session, account_id, updated_at=datetime.now(UTC), **changes)
        await audit.record(
            session,
            action="service_account.updated",
            ctx=ctx,
            actor=actor,
            target=row["client_id"],
            details={"changes": changes},
        )
    return to_out(await _require(session, account_id))


async def delete(session: AsyncSession, *, account_id: uuid.UUID, actor: Actor, ctx: RequestContext) -> None:
    row = await _require(session, account_id)
    if row["fleet"]:
        raise Conflict("the fleet's own accounts are managed by configuration; suspend it instead")
    await repository.update(
        session, account_id, status="DELETED", secret_hash=None, updated_at=datetime.now(UTC)
    )
    await audit.record(
        session, action="service_account.deleted", ctx=ctx, actor=actor, target=row["client_id"]
    )


async def rotate_secret(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    account_id: uuid.UUID,
    actor: Actor,
    ctx: RequestContext,
) -> ServiceAccountWithSecret:
    row = await _require(session, account_id)
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = None if row["fleet"] else now + timedelta(days=settings.service_secret_lifetime_days)
    await repository.update(
        session,
        account_id,
        secret_hash=await hasher.hash(secret),
        secret_rotated_at=now,
        secret_expires_at=expires,
        updated_at=now,
    )
    await audit.record(
        session, action="service_account.secret_rotated", ctx=ctx, actor=actor, target=row["client_id"]
    )
    return _with_secret(await _require(session, account_id), secret)


async def seed_fleet(session: AsyncSession, *, hasher: PasswordHasher, settings: Settings) -> list[str]:
    """Create or align the fleet accounts; returns the client ids created or changed.

    Idempotent: an account is created when missing (with its configured secret, if any), its
    scopes are set to the table's, and its secret is replaced only when the configured one no
    longer verifies. A suspended account stays suspended."""
    await repository.lock_fleet(session)
    changed: list[str] = []
    now = datetime.now(UTC)
    for client_id, (name, scopes) in FLEET_ACCOUNTS.items():
        configured = settings.fleet_secrets.get(client_id)
        secret = configured.get_secret_value() if configured else None
        row = await repository.by_client_id(session, client_id)
        if row is None:
            await repository.insert(
                session,
                id=uuid.uuid4(),
                client_id=client_id,
                name=name,
                scopes=sorted(scopes),
                status="ACTIVE",
                fleet=True,
                secret_hash=await hasher.hash(secret) if secret else None,
                secret_rotated_at=now if secret else None,
                created_at=now,
                updated_at=now,
            )
            changed.append(client_id)
            if secret is None:
                log.warning("fleet_account_without_secret", extra={"client_id": client_id})
            continue
        values: dict[str, Any] = {}
        if set(row["scopes"]) != scopes or not row["fleet"]:
            values |= {"scopes": sorted(scopes), "fleet": True}
        if secret and not await hasher.verify(secret, row["secret_hash"]):
            values |= {
                "secret_hash": await hasher.hash(secret),
                "secret_rotated_at": now,
                "secret_expires_at": None,
            }
        if values:
            await repository.update(session, row["id"], updated_at=now, **values)
            changed.append(client_id)
    if changed:
        await audit.record(session, action="service_account.fleet_seeded", details={"accounts": changed})
    return changed
