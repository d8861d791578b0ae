"""Settings of the ingester, read from ``ARTSTORE_INGESTER_*`` environment variables."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_INGESTER_", extra="ignore", validate_default=True)

    port: int = Field(default=8020, description="port to listen on")
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_ingester",
        description="SQLAlchemy URL of the ingester's Postgres database (saga log, audit outbox)",
    )

    service_client_id: str = Field(
        default="svc-ingester", description="this service's account at the admin module (client credentials)"
    )
    service_client_secret: SecretStr = Field(default=SecretStr(""), description="the secret of that account")

    staging_dir: Path = Field(
        default=Path(),
        description="tus staging directory (a volume shared by the replicas); empty = under the temp dir",
    )
    max_upload_bytes: int = Field(
        default=50 * 1024**3, description="largest accepted upload (bytes); above: 413"
    )
    tus_expiration_hours: float = Field(
        default=24.0, description="an unfinished tus upload expires after this"
    )
    tus_cleanup_interval_seconds: float = Field(
        default=300.0, description="how often expired tus uploads are removed"
    )
    default_ttl_days: int = Field(
        default=30, description="lifetime of a temporary file when the upload names none"
    )

    storage_elements: list[dict[str, Any]] = Field(
        default_factory=list,
        description='static discovery: JSON list of {"id","name","url","mode","priority"} (tests, one node)',
    )
    se_timeout_seconds: float = Field(default=300.0, description="read timeout of a storage element call (s)")
    se_connect_timeout_seconds: float = Field(
        default=5.0, description="connect timeout to a storage element (s)"
    )

    breaker_failure_threshold: int = Field(
        default=3, description="consecutive failures that open a storage element's circuit breaker"
    )
    breaker_reset_seconds: float = Field(
        default=30.0, description="an open breaker lets a trial through after this"
    )

    saga_worker_interval_seconds: float = Field(
        default=1.0, description="how often idle saga workers look for work"
    )
    saga_max_attempts: int = Field(
        default=8, description="attempts of a failing saga step before it compensates"
    )
    saga_backoff_base_seconds: float = Field(
        default=1.0, description="first retry delay of a saga step (doubles)"
    )
    saga_backoff_max_seconds: float = Field(default=300.0, description="longest retry delay of a saga step")
    saga_lease_seconds: float = Field(
        default=60.0, description="a running saga's lease; a crashed worker's saga resumes after it"
    )
    saga_workers: int = Field(default=2, description="sagas run at once by this replica")
    saga_copy_bytes_per_second: float = Field(
        default=0, description="bandwidth of saga copies between storage elements (0 = unlimited)"
    )

    @model_validator(mode="after")
    def _default_staging(self) -> Settings:
        if self.staging_dir == Path():
            self.staging_dir = Path(tempfile.gettempdir()) / "artstore-ingester-staging"
        return self
