"""Settings base class shared by every service.

Each service subclasses :class:`ServiceSettings` with its own env prefix
(``ARTSTORE_<SERVICE>_``). Values are validated once, at start-up, and the instance is
passed to ``create_app(settings)``; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_MARKERS = ("change-me", "changeme", "placeholder", "dev-only", "secret")

Environment = Literal["development", "test", "production"]


def current_environment() -> Environment:
    """``ARTSTORE_ENV`` is common to the fleet, so it has no service prefix."""
    value = os.environ.get("ARTSTORE_ENV", "production").strip().lower()
    if value not in ("development", "test", "production"):
        raise ValueError(f"ARTSTORE_ENV must be development, test or production, not {value!r}")
    return value  # type: ignore[return-value]


def is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return len(secret) < 16 or any(marker in lowered for marker in PLACEHOLDER_MARKERS)


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set ``model_config`` with their env prefix."""

    model_config = SettingsConfigDict(env_prefix="ARTSTORE_", extra="ignore", validate_default=True)

    env: Environment = Field(default_factory=current_environment)
    instance_id: str = ""
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str = "INFO"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore"
    database_pool_size: int = 10
    migrate_on_start: bool = True
    redis_url: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    admin_url: str = "http://127.0.0.1:8000"
    jwt_issuer: str = "http://127.0.0.1:8000"
    jwt_audience: str = "artstore"
    jwt_leeway_seconds: int = 30
    jwks_min_refresh_seconds: float = 10.0
    http_connect_timeout: float = 5.0
    http_read_timeout: float = 60.0
    http_retries: int = 3

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.env == "development":
            return self
        for name, value in self:
            if (
                isinstance(value, SecretStr)
                and value.get_secret_value()
                and is_placeholder(value.get_secret_value())
            ):
                raise ValueError(
                    f"{name} looks like a placeholder secret; set a real one "
                    "(placeholders are accepted only with ARTSTORE_ENV=development)"
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
