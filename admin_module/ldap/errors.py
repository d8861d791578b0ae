"""Errors of the directory, one tree under :class:`DirectoryError`.

Callers must tell a person's mistake (:class:`InvalidCredentials`, refused, not retryable)
from the directory's failure (:class:`DirectoryUnavailable`, 503, retry later).
"""

from __future__ import annotations

from shared.errors import ArtStoreError


class DirectoryError(ArtStoreError):
    status, code, title = 400, "directory_error", "Directory error"


class InvalidCredentials(DirectoryError):
    """Wrong or empty password, or a login the directory does not know."""

    status, code, title = 400, "invalid_grant", "Invalid credentials"


class NotInDirectory(InvalidCredentials):
    """No entry matches the login under the users or dismissed base."""


class AccountDismissed(InvalidCredentials):
    """The entry was moved under the dismissed base: the person left."""


class NoMappedGroup(InvalidCredentials):
    """The password is right, but no group of the person maps to an ArtStore role."""


class DirectoryUnavailable(DirectoryError):
    """No configured server answered, or the service account was refused."""

    status, code, title = 503, "temporarily_unavailable", "Directory temporarily unavailable"


class MissingBase(DirectoryError):
    """A base the sync must read (users, groups) does not exist or is hidden from the service
    account: the sync changes nothing rather than deactivate everyone."""

    status, code, title = 409, "ldap_base_missing", "A directory base is missing"


class DirectoryDisabled(DirectoryError):
    status, code, title = 409, "ldap_disabled", "No LDAP directory is configured"
