"""``/api/v1/auth/*``: the OAuth 2.0 token endpoint (RFC 6749), revocation (RFC 7009), password reset."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, BackgroundTasks, Form, Request, Response
from fastapi.responses import JSONResponse

from admin_module.auth import reset, service
from admin_module.auth.errors import InvalidClient, InvalidRequest, UnsupportedGrantType
from admin_module.auth.schemas import PasswordResetConfirm, PasswordResetRequest
from admin_module.deps import ContextDep, SessionDep, SettingsDep, StateDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def auth_env(request: Request) -> service.AuthEnv:
    state = request.app.state
    return service.AuthEnv(
        sessions=state.sessions,
        settings=state.settings,
        hasher=state.hasher,
        ring=state.key_ring,
        limiter=state.rate_limiter,
        directory=getattr(state, "directory_authenticator", None),
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """RFC 6749 section 2.3.1: HTTP Basic with form-urlencoded id and secret."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    return unquote(client_id), unquote(secret)


def _required(value: str | None, name: str) -> str:
    if not value:
        raise InvalidRequest(f"{name} is required")
    return value


@router.post("/token")
async def token(
    request: Request,
    ctx: ContextDep,
    grant_type: Annotated[str | None, Form()] = None,
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    refresh_token: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    env = auth_env(request)
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    if grant_type == "password":
        issued = await service.password_grant(
            env,
            username=_required(username, "username"),
            password=_required(password, "password"),
            scope=scope,
            ctx=ctx,
        )
    elif grant_type == "refresh_token":
        issued = await service.refresh_grant(
            env, refresh_token=_required(refresh_token, "refresh_token"), scope=scope, ctx=ctx
        )
    elif grant_type == "client_credentials":
        basic = _basic_credentials(request)
        cid, secret = basic if basic else (client_id, client_secret)
        if not cid or not secret:
            raise InvalidClient("client authentication is required")
        issued = await service.client_credentials_grant(
            env, client_id=cid, client_secret=secret, scope=scope, ctx=ctx
        )
    else:
        raise UnsupportedGrantType(f"grant_type {grant_type!r} is not supported")
    return JSONResponse(issued.body(), headers=NO_STORE)


@router.post("/revoke")
async def revoke(
    request: Request,
    ctx: ContextDep,
    token: Annotated[str | None, Form()] = None,
    token_type_hint: Annotated[str | None, Form()] = None,
) -> Response:
    if token:  # API.md: always 200, even for a missing, unknown or already revoked token
        await service.revoke(auth_env(request), token=token, ctx=ctx)
    return Response(status_code=200, headers=NO_STORE)


@router.post("/password-reset", status_code=202)
async def request_password_reset(
    body: PasswordResetRequest,
    state: StateDep,
    settings: SettingsDep,
    ctx: ContextDep,
    background: BackgroundTasks,
) -> Response:
    mail = await reset.request_reset(
        state.sessions, redis=state.redis, settings=settings, login=body.login, ctx=ctx
    )
    if mail is not None:
        background.add_task(reset.send_reset_mail, settings, mail)
    return Response(status_code=202)


@router.post("/password-reset/confirm", status_code=204)
async def confirm_password_reset(
    body: PasswordResetConfirm, session: SessionDep, state: StateDep, settings: SettingsDep, ctx: ContextDep
) -> Response:
    await reset.confirm_reset(
        session,
        redis=state.redis,
        hasher=state.hasher,
        settings=settings,
        token=body.token,
        new_password=body.new_password,
        ctx=ctx,
    )
    return Response(status_code=204)
