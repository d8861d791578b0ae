"""``create_app(settings)``: the query module as an ASGI app.

Every resource is opened in the lifespan and closed on the way out (STYLE.md habit 7).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from query_module.settings import Settings
from shared.app import build_app, core_resources
from shared.version import __version__

SERVICE = "query_module"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with core_resources(app, settings, migrations=MIGRATIONS):
            yield

    return build_app(
        settings, service=SERVICE, title="ArtStore query module", version=__version__, lifespan=lifespan
    )
