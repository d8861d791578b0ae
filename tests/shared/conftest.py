"""Helpers for the shared library's tests: serve an ASGI app on a real local port.

``serve(app)`` runs uvicorn in the test's event loop on 127.0.0.1 and a free port, so the
code under test talks real HTTP (headers, connections, retries) rather than an in-process
transport. ``preserved_logging()`` puts the root logger back after a test that built an app
(``build_app`` reconfigures logging for the whole process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Request
from starlette.types import ASGIApp

from shared.app import build_app
from shared.errors import Unauthorized
from shared.settings import ServiceSettings
from tests.support.servers import free_port
from tests.support.waiting import eventually


@asynccontextmanager
async def serve(app: ASGIApp, *, lifespan: Literal["on", "off"] = "on") -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free local port, in this event loop; yields its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan=lifespan)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn exited before it started")
        return bool(server.started)

    try:
        await eventually(started, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@contextmanager
def preserved_logging() -> Iterator[None]:
    """Restore the root logger's handlers and level (and uvicorn's) when the block ends."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (
            logging.getLogger(name).handlers[:],
            logging.getLogger(name).level,
            logging.getLogger(name).propagate,
        )
        for name in names
    }
    try:
        yield
    finally:
        for name, (handlers, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


PROBE_LOGGER = "artstore.probe"


def probe_app(service: str = "probe_service", **overrides: Any) -> FastAPI:
    """An app built the way every service builds its own (``build_app``), with four routes:
    ``/probe`` logs ``probe_event`` and answers 200, ``/probe/denied`` raises a domain 401,
    ``/probe/broken`` fails with an unexpected exception (a 500); ``/probe/upload`` counts the
    bytes of its body."""
    settings = ServiceSettings(env="test", **overrides)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = build_app(settings, service=service, title="Probe", version="0", lifespan=lifespan)

    @app.get("/probe")
    async def probe() -> dict[str, str]:
        logging.getLogger(PROBE_LOGGER).info("probe_event", extra={"answer": 42})
        return {"ok": "yes"}

    @app.get("/probe/denied")
    async def denied() -> None:
        raise Unauthorized("no entry")

    @app.get("/probe/broken")
    async def broken() -> None:
        raise RuntimeError("probe failure")

    @app.post("/probe/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": sum([len(chunk) async for chunk in request.stream()])}

    return app
