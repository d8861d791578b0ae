"""Settings of the storage element, read from ``ARTSTORE_STORAGE_*`` environment variables."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

Mode = Literal["edit", "rw", "ro", "ar"]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_STORAGE_", extra="ignore", validate_default=True)

    port: int = 8010
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_storage"

    # This service's own account at the admin module (client credentials grant).
    service_client_id: str = "svc-storage"
    service_client_secret: SecretStr = SecretStr("")

    se_id: str = "se-1"
    name: str = ""
    initial_mode: Mode = "rw"  # used only when the SE has no persisted mode yet
    priority: int = 100  # lower = preferred
    # Data directory (local backend) and local state (WAL, persisted mode). Empty = a
    # directory under the system temp dir named after se_id (development only).
    root: Path = Path()
    state_dir: Path = Path()
    backend: Literal["local", "s3"] = "local"
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_bucket: str = "artstore"
    s3_secure: bool = False
    s3_prefix: str = ""
    quota_bytes: int = 0  # 0 = limited by free space only
    max_upload_bytes: int = 10 * 1024**3
    fsync: bool = True
    retention_interval_seconds: float = 300.0
    scrub_mib_per_second: float = 50.0
    capacity_warning_ratio: float = 0.80
    capacity_critical_ratio: float = 0.95

    @model_validator(mode="after")
    def _default_dirs(self) -> Settings:
        base = Path(tempfile.gettempdir()) / f"artstore-{self.se_id}"
        if self.root == Path():
            self.root = base / "data"
        if self.state_dir == Path():
            self.state_dir = base / "state"
        if not self.name:
            self.name = self.se_id
        return self
