"""Annotated dependencies of the admin module's routers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.settings import Settings
from shared.auth import Principal, require_role
from shared.db import get_session
from shared.errors import Forbidden
from shared.logging import request_id_var


@dataclass(frozen=True)
class RequestContext:
    """Who is calling from where: what the audit log records with every event."""

    client_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def request_context(request: Request) -> RequestContext:
    return RequestContext(
        client_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=request_id_var.get(),
    )


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_state(request: Request) -> Any:
    return request.app.state


# The unit of work must commit before the response is sent, so that a 2xx always means
# committed (FastAPI's default "request" scope would commit after the response went out).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ContextDep = Annotated[RequestContext, Depends(request_context)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StateDep = Annotated[Any, Depends(get_state)]
IDENTITY_ADMIN = "identity:admin"


async def require_identity_admin(
    principal: Annotated[Principal, Depends(require_role("ADMIN"))],
) -> Principal:
    """An ADMIN whose token still holds ``identity:admin`` (ARCHITECTURE.md §4): a token the
    ADMIN narrowed (``scope=files:read``) cannot manage users, accounts, keys or the audit log."""
    if not principal.has_scope(IDENTITY_ADMIN):
        raise Forbidden(f"missing scope: {IDENTITY_ADMIN}")
    return principal


AdminDep = Annotated[Principal, Depends(require_identity_admin)]
