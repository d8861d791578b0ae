"""One error tree and one renderer: every failure leaves as application/problem+json.

Domain errors subclass :class:`ArtStoreError` with an HTTP status and a stable ``code``.
A single set of handlers (installed by :func:`install_error_handlers`) renders them; a
500 means a bug, and its detail never leaks internals.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import request_id_var
from shared.middleware import REQUEST_ID_STATE

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("artstore.errors")


class ArtStoreError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra


class NotFound(ArtStoreError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ArtStoreError):
    status, code, title = 409, "conflict", "Conflict"


class Unauthorized(ArtStoreError):
    status, code, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, **extra)


class Forbidden(ArtStoreError):
    status, code, title = 403, "forbidden", "Forbidden"


class InvalidInput(ArtStoreError):
    status, code, title = 422, "invalid_input", "Invalid input"


class ServiceUnavailable(ArtStoreError):
    status, code, title = 503, "unavailable", "Service unavailable"


def problem(
    status: int, code: str, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://artstore.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _artstore_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(ArtStoreError, exc)
    return problem(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers, **exc.extra)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return problem(
        422, "validation_error", "Invalid request", "the request has invalid fields", errors=errors
    )


_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(StarletteHTTPException, exc)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return problem(
        exc.status_code,
        code,
        code.replace("_", " ").capitalize(),
        str(exc.detail),
        headers=dict(exc.headers or {}),
    )


def _internal_error(scope: Scope, exc: Exception) -> JSONResponse:
    """Log ``exc`` with the request's id and answer the 500 problem (never its text)."""
    request_id = request_id_var.get() or scope.get("state", {}).get(REQUEST_ID_STATE)
    token = request_id_var.set(request_id)
    try:
        log.exception("unhandled_error", exc_info=exc)
        headers = {"X-Request-ID": request_id} if request_id else None
        return problem(
            500, "internal_error", "Internal error", "an unexpected error occurred", headers=headers
        )
    finally:
        request_id_var.reset(token)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The last resort, for a failure in the middleware itself: Starlette calls this from its
    # outermost layer, outside the request-id middleware, so the id comes from the scope.
    return _internal_error(request.scope, exc)


class UnhandledErrorMiddleware:
    """Answers an unexpected exception with the 500 problem *inside* the other middleware.

    Starlette's own handler for ``Exception`` runs in its outermost layer, so its answer
    skips CORS (a browser then sees a network error instead of the problem document) and
    the request metrics. Installed innermost, this turns the exception into an ordinary
    response that passes through them. An exception after the response has started cannot
    be answered any more; it goes on up and the server drops the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            await _internal_error(scope, exc)(scope, receive, send)


async def _client_gone(_: Request, exc: Exception) -> JSONResponse:
    # The client went away while its body was being read: nothing to answer anyone, but not
    # a failure of ours either. Whatever was being written has been undone by the time the
    # exception arrives here (the write paths clean up on any error).
    log.info("client_disconnected")
    return problem(400, "client_disconnected", "Client disconnected", "the request body ended early")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(ArtStoreError, _artstore_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
