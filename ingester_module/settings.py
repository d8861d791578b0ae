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

    port: int = 8020
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_ingester"

    # This service's own account at the admin module (client credentials grant).
    service_client_id: str = "svc-ingester"
    service_client_secret: SecretStr = SecretStr("")

    # tus uploads are staged here (a volume shared by the replicas); empty = under /tmp.
    staging_dir: Path = Path()
    max_upload_bytes: int = 50 * 1024**3
    # Bytes held in memory per upload on the way to the SE (queue of parsed chunks).
    stream_chunk_bytes: int = 256 * 1024
    stream_queue_chunks: int = 8
    tus_expiration_hours: float = 24.0
    tus_cleanup_interval_seconds: float = 300.0
    default_ttl_days: int = 30

    # Static discovery: a JSON list of {"id","name","url","mode","priority",...}.
    storage_elements: list[dict[str, Any]] = Field(default_factory=list)
    se_timeout_seconds: float = 300.0
    se_connect_timeout_seconds: float = 5.0

    # Circuit breaker per SE: open after this many consecutive failures, for this long.
    breaker_failure_threshold: int = 3
    breaker_reset_seconds: float = 30.0

    # Saga workers.
    saga_worker_interval_seconds: float = 1.0
    saga_max_attempts: int = 8
    saga_backoff_base_seconds: float = 1.0
    saga_backoff_max_seconds: float = 300.0
    saga_lease_seconds: float = 60.0
    saga_workers: int = 2
    # Bandwidth of saga copies between SEs (0 = unlimited), so sagas never starve uploads.
    saga_copy_bytes_per_second: float = 0

    @model_validator(mode="after")
    def _default_staging(self) -> Settings:
        if self.staging_dir == Path():
            self.staging_dir = Path(tempfile.gettempdir()) / "artstore-ingester-staging"
        return self
