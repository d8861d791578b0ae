"""The seam for directory (LDAP) users.

The password grant authenticates through one function, ``auth.service.authenticate_password``.
Users whose ``source`` is ``LDAP`` (and, when a directory is configured, usernames unknown
locally, and LOCAL users with ``precedence=ldap``) are delegated to
``app.state.directory_authenticator``: an object implementing
:class:`DirectoryAuthenticator`, installed by the LDAP integration, ``None`` by default (then
directory users cannot log in).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class DirectoryUnavailable(Exception):
    """The directory cannot be reached: the token endpoint answers 503 temporarily_unavailable."""


class DirectoryRefused(Exception):
    """The password was right but the directory account may not log in (dismissed, no mapped
    group): the token endpoint answers invalid_grant with this message as the description."""


class UnknownToDirectory(Exception):
    """For a LOCAL ``user`` (``precedence=ldap``): the directory does not claim this name (no such
    person, dismissed, no mapped group), so the local password decides."""


class DirectoryAuthenticator(Protocol):
    async def authenticate(
        self, session: AsyncSession, *, username: str, password: str, user: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Bind as ``username``. ``user`` is the local row (source LDAP, or LOCAL with
        ``precedence=ldap``: then a successful bind takes the account over, and
        :class:`UnknownToDirectory` leaves it to its local password) or None when the username
        is unknown locally. Return the user row to log in (created or refreshed in ``session`` as
        needed), or None for bad credentials. Raise :class:`DirectoryUnavailable` when the
        directory cannot answer, :class:`DirectoryRefused` when the account may not log in."""
        ...
