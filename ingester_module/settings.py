"""Settings of the ingester, read from ``ARTSTORE_INGESTER_*`` environment variables."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_INGESTER_", extra="ignore", validate_default=True)

    port: int = 8020
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_ingester"

    # This service's own account at the admin module (client credentials grant).
    service_client_id: str = "svc-ingester"
    service_client_secret: SecretStr = SecretStr("")
