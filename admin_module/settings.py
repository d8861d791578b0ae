"""Settings of the admin module, read from ``ARTSTORE_ADMIN_*`` environment variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_ADMIN_", extra="ignore", validate_default=True)

    port: int = 8000
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_admin"
