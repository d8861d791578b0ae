"""OAuth 2.0 errors (RFC 6749 section 5.2) as problem+json carrying ``error`` and
``error_description``, so OAuth clients and the fleet's problem readers both understand them."""

from __future__ import annotations

from typing import Any

from shared.errors import ArtStoreError


class OAuthError(ArtStoreError):
    error: str = "invalid_request"

    def __init__(self, description: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(
            description, headers=headers, error=self.error, error_description=description, **extra
        )


class InvalidRequest(OAuthError):
    status, code, title = 400, "invalid_request", "Invalid token request"
    error = "invalid_request"


class InvalidGrant(OAuthError):
    status, code, title = 400, "invalid_grant", "Invalid grant"
    error = "invalid_grant"


class InvalidScope(OAuthError):
    status, code, title = 400, "invalid_scope", "Invalid scope"
    error = "invalid_scope"


class UnsupportedGrantType(OAuthError):
    status, code, title = 400, "unsupported_grant_type", "Unsupported grant type"
    error = "unsupported_grant_type"


class InvalidClient(OAuthError):
    status, code, title = 401, "invalid_client", "Client authentication failed"
    error = "invalid_client"

    def __init__(self, description: str, **extra: Any) -> None:
        super().__init__(description, headers={"WWW-Authenticate": 'Basic realm="artstore"'}, **extra)


class TooManyRequests(OAuthError):
    status, code, title = 429, "rate_limited", "Too many attempts"
    error = "slow_down"

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description, headers={"Retry-After": str(retry_after)})


class TemporarilyUnavailable(OAuthError):
    status, code, title = 503, "temporarily_unavailable", "Directory unavailable"
    error = "temporarily_unavailable"


class InvalidResetToken(ArtStoreError):
    status, code, title = 400, "invalid_token", "The reset token is invalid, expired or already used"
