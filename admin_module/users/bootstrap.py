"""The first ADMIN, created at start-up when the configured username does not exist yet.

Its password comes from ``ARTSTORE_ADMIN_BOOTSTRAP_PASSWORD`` when set; otherwise one is
generated, logged once and, when ``bootstrap_password_file`` is set, written there (mode 600).
An existing user is never overwritten; there is no fixed default password.
"""

from __future__ import annotations

import logging
import os
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.settings import Settings
from admin_module.users import repository
from admin_module.users.passwords import BCRYPT_MAX_BYTES, PasswordHasher
from admin_module.users.schemas import UserCreate
from admin_module.users.service import create_local

log = logging.getLogger("artstore.admin.bootstrap")


def _write_secret_file(settings: Settings, password: str) -> None:
    path = settings.bootstrap_password_file
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    os.chmod(path, 0o600)


async def ensure_bootstrap_admin(
    session: AsyncSession, *, settings: Settings, hasher: PasswordHasher
) -> bool:
    """Create the bootstrap ADMIN if needed; True when it was created now."""
    await repository.lock_admins(session)
    if await repository.by_username(session, settings.bootstrap_username) is not None:
        return False
    if await repository.any_admin(session):
        log.info("bootstrap_admin_skipped", extra={"reason": "an ADMIN already exists"})
        return False
    configured = settings.bootstrap_password.get_secret_value() if settings.bootstrap_password else None
    password = configured or secrets.token_urlsafe(18)
    if len(password.encode()) > BCRYPT_MAX_BYTES:
        raise ValueError("bootstrap_password is longer than 72 bytes (bcrypt's limit)")
    if configured and len(configured) < settings.password_min_length:
        log.warning("bootstrap_password_short", extra={"min_length": settings.password_min_length})
    # The configured password is taken as given (automation sets it); the policy applies to later changes.
    body = UserCreate.model_construct(
        username=settings.bootstrap_username,
        password=password,
        role="ADMIN",
        email=None,
        full_name="Administrator",
    )
    await create_local(session, hasher=hasher, settings=settings, body=body, actor=None, enforce_policy=False)
    if configured is None:
        _write_secret_file(settings, password)
        log.warning(
            "bootstrap_admin_created",
            extra={
                "username": settings.bootstrap_username,
                "generated_password": password,
                "password_file": str(settings.bootstrap_password_file or ""),
            },
        )
    else:
        log.info("bootstrap_admin_created", extra={"username": settings.bootstrap_username})
    return True
