"""Settings base class shared by every service.

Each service subclasses :class:`ServiceSettings` with its own env prefix
(``ARTSTORE_<SERVICE>_``). Values are validated once, at start-up, and the instance is
passed to ``create_app(settings)``; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Text found in the example values of docs, compose files and development defaults: a secret
# containing one is a placeholder whatever its length. A real password may be short or
# contain the word "secret"; neither makes it a placeholder.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "placeholder", "dev-only", "example")
PLACEHOLDER_PREFIXES = ("dev-",)
# Keys the fleet generates (``make run``: 43 random characters) must be at least this long.
GENERATED_KEY_MIN_LENGTH = 16

Environment = Literal["development", "test", "production"]
DEFAULT_ENVIRONMENT: Environment = "production"  # unset means production: placeholders refused


def current_environment() -> Environment:
    """``ARTSTORE_ENV`` is common to the fleet, so it has no service prefix."""
    value = os.environ.get("ARTSTORE_ENV", DEFAULT_ENVIRONMENT).strip().lower()
    if value not in ("development", "test", "production"):
        raise ValueError(f"ARTSTORE_ENV must be development, test or production, not {value!r}")
    return value  # type: ignore[return-value]


def is_placeholder(secret: str) -> bool:
    """An empty value, or one carrying a placeholder marker (any length)."""
    lowered = secret.strip().lower()
    return (
        not lowered
        or lowered.startswith(PLACEHOLDER_PREFIXES)
        or any(marker in lowered for marker in PLACEHOLDER_MARKERS)
    )


def is_weak_key(secret: str, min_length: int = GENERATED_KEY_MIN_LENGTH) -> bool:
    """A placeholder, or shorter than a key we generate (HMAC keys, key-encryption keys)."""
    return is_placeholder(secret) or len(secret) < min_length


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set ``model_config`` with their env prefix."""

    model_config = SettingsConfigDict(env_prefix="ARTSTORE_", extra="ignore", validate_default=True)

    # Secret fields that hold keys we generate rather than passwords people choose: outside
    # development they must also be GENERATED_KEY_MIN_LENGTH characters long.
    generated_keys: ClassVar[frozenset[str]] = frozenset(
        {"link_secret", "key_encryption_key", "fleet_secrets"}
    )

    env: Environment = Field(
        default_factory=current_environment,
        description="development, test or production; read from ARTSTORE_ENV (no service prefix). "
        "Placeholder secrets are accepted only in development.",
    )
    instance_id: str = Field("", description="this instance's id in the fleet view (generated when empty)")
    public_url: str = Field("", description="the URL other services and browsers use to reach this instance")
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(0, description="port to listen on")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore",
        description="SQLAlchemy URL of this service's own Postgres database (driver asyncpg)",
    )
    database_pool_size: int = Field(10, description="connections kept open to Postgres")
    migrate_on_start: bool = Field(
        True, description="create the database if missing and apply migrations at start"
    )
    redis_url: str | None = Field(
        None, description="Redis URL; optional, the service keeps working without it"
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='JSON list of browser origins allowed by CORS, e.g. ["http://localhost:4200"]',
    )
    admin_url: str = Field(
        "http://127.0.0.1:8000", description="base URL of the admin module (JWKS, tokens, registry)"
    )
    jwt_issuer: str = Field(
        "http://127.0.0.1:8000", description="the iss claim every access token must carry"
    )
    jwt_audience: str = Field("artstore", description="the aud claim every access token must carry")
    jwt_leeway_seconds: int = Field(30, description="clock skew tolerated on exp and nbf")
    jwks_min_refresh_seconds: float = Field(
        10.0, description="at most one JWKS refetch per this many seconds on an unknown kid"
    )
    http_connect_timeout: float = Field(5.0, description="connect timeout of calls to other services (s)")
    http_read_timeout: float = Field(60.0, description="read timeout of calls to other services (s)")
    http_retries: int = Field(3, description="retries of idempotent calls to other services (with backoff)")
    heartbeat_seconds: float = Field(
        5.0, gt=0, description="how often this instance heartbeats to the admin module"
    )
    discovery_refresh_seconds: float = Field(
        10.0, gt=0, description="storage-element discovery re-reads its snapshot at least this often"
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.env == "development":
            return self
        for name, value in self:
            for label, secret in _secrets(name, value):
                if is_placeholder(secret):
                    raise ValueError(
                        f"{label} looks like a placeholder secret; set a real one "
                        "(placeholders are accepted only with ARTSTORE_ENV=development)"
                    )
                if name in self.generated_keys and len(secret) < GENERATED_KEY_MIN_LENGTH:
                    raise ValueError(
                        f"{label} is shorter than {GENERATED_KEY_MIN_LENGTH} characters; "
                        "generate one, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                    )
        return self

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    def summary(self) -> dict[str, Any]:
        """Settings as logged at start-up, secrets masked."""
        return {
            k: ("***" if isinstance(v, SecretStr) else v)
            for k, v in self.model_dump().items()
            if "password" not in k and "secret" not in k
        }


def _secrets(name: str, value: object) -> list[tuple[str, str]]:
    """The non-empty secrets a field holds (a SecretStr, or a map of them), with labels.
    An empty secret means "not configured" and is left to the field's own checks."""
    if isinstance(value, SecretStr):
        pairs = [(name, value)]
    elif isinstance(value, dict):
        pairs = [(f"{name}[{key}]", item) for key, item in value.items() if isinstance(item, SecretStr)]
    else:
        return []
    return [(label, item.get_secret_value()) for label, item in pairs if item.get_secret_value()]
