"""Errors of the users domain."""

from __future__ import annotations

from shared.errors import ArtStoreError, Conflict, InvalidInput, NotFound


class PasswordPolicyViolation(InvalidInput):
    code, title = "password_policy", "Password does not meet the policy"


class UserNotFound(NotFound):
    code, title = "user_not_found", "User not found"


class UsernameTaken(Conflict):
    code, title = "username_taken", "Username already exists"


class LastAdmin(Conflict):
    code, title = "last_admin", "The last active ADMIN cannot be removed or demoted"


class DirectoryUser(Conflict):
    code, title = "directory_user", "Directory (LDAP) users manage their password in the directory"


class WrongPassword(ArtStoreError):
    status, code, title = 400, "wrong_password", "The current password is wrong"
