"""``create_app(settings)``: the admin module as an ASGI app.

Every resource is opened in the lifespan and closed on the way out (STYLE.md habit 7). At
start, after migrations: the first signing key (if none), the bootstrap ADMIN (if none) and
the fleet's service accounts are ensured, each idempotent and safe with several replicas.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import anyio
from fastapi import FastAPI

from admin_module.audit import service as audit
from admin_module.audit.chain import head_key
from admin_module.audit.router import router as audit_router
from admin_module.auth.ratelimit import RateLimiter
from admin_module.auth.router import router as auth_router
from admin_module.keys.router import router as keys_router
from admin_module.keys.service import KeyRing, LocalJwksSource, rotation_loop
from admin_module.ldap.router import router as ldap_router
from admin_module.ldap.runner import directory_integration
from admin_module.service_accounts.router import router as service_accounts_router
from admin_module.service_accounts.service import seed_fleet
from admin_module.settings import Settings
from admin_module.storage_elements.coordination import coordination
from admin_module.storage_elements.router import router as storage_elements_router
from admin_module.users.bootstrap import ensure_bootstrap_admin
from admin_module.users.passwords import PasswordHasher
from admin_module.users.router import router as users_router
from shared.app import build_app, core_resources
from shared.db import unit_of_work
from shared.tasks import cancel_and_wait
from shared.version import __version__

SERVICE = "admin_module"
MIGRATIONS = Path(__file__).parent / "migrations"


def key_ring(settings: Settings) -> KeyRing:
    return KeyRing(
        kek=settings.kek(),
        key_size=settings.rsa_key_size,
        token_lifetime=timedelta(seconds=settings.access_token_lifetime_seconds),
        leeway=timedelta(seconds=settings.jwt_leeway_seconds),
        rotation_interval=timedelta(days=settings.key_rotation_days),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ring = key_ring(settings)
        source = LocalJwksSource(ring, settings.database_url)
        async with core_resources(app, settings, migrations=MIGRATIONS, jwks_source=source) as core:
            source.bind(core.sessions)
            core.sessions.configure(info={audit.HEAD_KEY: head_key(settings.kek())})
            async with unit_of_work(core.sessions) as session:
                await audit.ensure_head(session)
            hasher = await anyio.to_thread.run_sync(PasswordHasher, settings.bcrypt_rounds)
            app.state.key_ring, app.state.hasher = ring, hasher
            app.state.rate_limiter = RateLimiter(
                redis=core.redis, sessions=core.sessions, window=settings.rate_limit_window_seconds
            )
            async with unit_of_work(core.sessions) as session:
                await ring.ensure_active(session)
            async with unit_of_work(core.sessions) as session:
                await ensure_bootstrap_admin(session, settings=settings, hasher=hasher)
            async with unit_of_work(core.sessions) as session:
                await seed_fleet(session, hasher=hasher, settings=settings)
            rotation = asyncio.create_task(
                rotation_loop(core.sessions, ring, settings.key_rotation_check_seconds), name="key-rotation"
            )
            try:
                async with (
                    directory_integration(app, settings.ldap, core.sessions),
                    coordination(app, settings, core, ring),
                ):
                    yield
            finally:
                await cancel_and_wait([rotation])

    app = build_app(
        settings, service=SERVICE, title="ArtStore admin module", version=__version__, lifespan=lifespan
    )
    # The LDAP integration installs its authenticator here (auth/directory.py); None: no directory.
    app.state.directory_authenticator = None
    routers = (
        auth_router,
        keys_router,
        users_router,
        service_accounts_router,
        audit_router,
        ldap_router,
        storage_elements_router,
    )
    for router in routers:
        app.include_router(router)
    return app
