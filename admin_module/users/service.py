"""Users: create, read, update, soft-delete, unlock, own password; the last-ADMIN rule.

Every change is audited in its own transaction (``audit.record`` with the same session).
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.audit import service as audit
from admin_module.audit.schemas import Actor
from admin_module.auth import repository as tokens_repo
from admin_module.deps import RequestContext
from admin_module.settings import Settings
from admin_module.users import repository
from admin_module.users.errors import DirectoryUser, LastAdmin, UsernameTaken, UserNotFound, WrongPassword
from admin_module.users.passwords import PasswordHasher, check_policy
from admin_module.users.schemas import PasswordChange, UserCreate, UserOut, UserPage, UserUpdate
from shared.auth import Principal
from shared.errors import Forbidden, InvalidInput


def to_out(row: dict[str, Any]) -> UserOut:
    return UserOut.model_validate(row, from_attributes=False)


async def _require(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = await repository.get(session, user_id, for_update=for_update)
    if row is None or row["status"] == "DELETED":
        raise UserNotFound(f"no user {user_id}")
    return row


async def set_password(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    user: dict[str, Any],
    password: str,
    enforce_policy: bool = True,
) -> None:
    """Check the policy against this user's history, then store the new hash."""
    if enforce_policy:
        history = await repository.recent_hashes(session, user["id"], settings.password_history)
        await check_policy(
            hasher,
            password=password,
            username=user["username"],
            min_length=settings.password_min_length,
            previous_hashes=history,
        )
    hashed = await hasher.hash(password)
    now = datetime.now(UTC)
    await repository.update(
        session, user["id"], password_hash=hashed, password_changed_at=now, updated_at=now
    )
    await repository.add_history(session, user["id"], hashed, now)


async def create_local(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    body: UserCreate,
    actor: Actor | None,
    ctx: RequestContext | None = None,
    enforce_policy: bool = True,
) -> dict[str, Any]:
    if await repository.by_username(session, body.username) is not None:
        raise UsernameTaken(f"username {body.username!r} is taken")
    now = datetime.now(UTC)
    user: dict[str, Any] = {
        "id": uuid.uuid4(),
        "username": body.username,
        "email": body.email,
        "full_name": body.full_name,
        "role": body.role,
        "status": "ACTIVE",
        "source": "LOCAL",
        "created_at": now,
        "updated_at": now,
    }
    await repository.insert(session, **user)
    await set_password(
        session,
        hasher=hasher,
        settings=settings,
        user=user,
        password=body.password,
        enforce_policy=enforce_policy,
    )
    await audit.record(
        session,
        action="user.created",
        ctx=ctx,
        actor=actor,
        target=body.username,
        details={"role": body.role, "user_id": str(user["id"])},
    )
    created = await repository.get(session, user["id"])
    if created is None:
        raise RuntimeError("user vanished after creation")
    return created


async def list_users(
    session: AsyncSession,
    *,
    role: str | None,
    status: str | None,
    source: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> UserPage:
    try:
        after = base64.urlsafe_b64decode(cursor.encode()).decode() if cursor else None
    except ValueError as exc:
        raise InvalidInput("cursor is not valid") from exc
    rows, total = await repository.search(
        session, role=role, status=status, source=source, q=q, after=after, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = base64.urlsafe_b64encode(rows[-1]["username"].lower().encode()).decode() if more else None
    return UserPage(items=[to_out(r) for r in rows], next_cursor=next_cursor, total=total)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> UserOut:
    return to_out(await _require(session, user_id))


async def guard_last_admin(session: AsyncSession, user: dict[str, Any], *, role: str, status: str) -> None:
    """Refuse a change that would leave no ACTIVE ADMIN (serialised by an advisory lock)."""
    if user["role"] != "ADMIN" or user["status"] != "ACTIVE" or (role == "ADMIN" and status == "ACTIVE"):
        return
    await repository.lock_admins(session)
    if await repository.count_active_admins(session, excluding=user["id"]) == 0:
        raise LastAdmin("this is the last active ADMIN")


async def update_user(
    session: AsyncSession, *, user_id: uuid.UUID, body: UserUpdate, actor: Actor, ctx: RequestContext
) -> UserOut:
    user = await _require(session, user_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("role") is None:
        changes.pop("role", None)
    if changes.get("status") is None:
        changes.pop("status", None)
    await guard_last_admin(
        session, user, role=changes.get("role", user["role"]), status=changes.get("status", user["status"])
    )
    if changes.get("status") == "ACTIVE" and user["status"] == "LOCKED":
        changes |= {"locked_until": None, "failed_login_count": 0, "failed_window_started_at": None}
    if changes:
        await repository.update(session, user_id, updated_at=datetime.now(UTC), **changes)
        safe = {k: (v if isinstance(v, (str, int)) or v is None else str(v)) for k, v in changes.items()}
        await audit.record(
            session,
            action="user.updated",
            ctx=ctx,
            actor=actor,
            target=user["username"],
            details={"changes": safe, "user_id": str(user_id)},
        )
    return to_out(await _require(session, user_id))


async def delete_user(
    session: AsyncSession, *, user_id: uuid.UUID, actor: Actor, ctx: RequestContext
) -> None:
    user = await _require(session, user_id, for_update=True)
    await guard_last_admin(session, user, role=user["role"], status="DELETED")
    now = datetime.now(UTC)
    await repository.update(session, user_id, status="DELETED", updated_at=now)
    await tokens_repo.revoke_user(session, user_id, now, "user_deleted")
    await audit.record(
        session,
        action="user.deleted",
        ctx=ctx,
        actor=actor,
        target=user["username"],
        details={"user_id": str(user_id)},
    )


async def unlock_user(
    session: AsyncSession, *, user_id: uuid.UUID, actor: Actor, ctx: RequestContext
) -> UserOut:
    user = await _require(session, user_id, for_update=True)
    values: dict[str, Any] = {"failed_login_count": 0, "failed_window_started_at": None, "locked_until": None}
    if user["status"] == "LOCKED":
        values["status"] = "ACTIVE"
    await repository.update(session, user_id, updated_at=datetime.now(UTC), **values)
    await audit.record(
        session,
        action="user.unlocked",
        ctx=ctx,
        actor=actor,
        target=user["username"],
        details={"user_id": str(user_id)},
    )
    return to_out(await _require(session, user_id))


async def me(session: AsyncSession, principal: Principal) -> UserOut:
    if principal.kind != "user":
        raise Forbidden("only users have a user record")
    try:
        user_id = uuid.UUID(principal.subject)
    except ValueError as exc:
        raise UserNotFound("the token's subject is not a user") from exc
    return to_out(await _require(session, user_id))


async def change_own_password(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    settings: Settings,
    principal: Principal,
    body: PasswordChange,
    actor: Actor,
    ctx: RequestContext,
) -> None:
    current = await me(session, principal)
    user = await _require(session, current.id, for_update=True)
    if user["source"] != "LOCAL":
        raise DirectoryUser("change your password in the directory")
    if not await hasher.verify(body.current_password, user["password_hash"]):
        raise WrongPassword("the current password is wrong")
    await set_password(session, hasher=hasher, settings=settings, user=user, password=body.new_password)
    await tokens_repo.revoke_user(session, user["id"], datetime.now(UTC), "password_changed")
    await audit.record(session, action="user.password_changed", ctx=ctx, actor=actor, target=user["username"])
