"""Settings of the storage element, read from ``ARTSTORE_STORAGE_*`` environment variables."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings
from storage_element.storage.backends.local import KEEP_CACHE_BYTES, SYNC_EVERY_BYTES

Mode = Literal["edit", "rw", "ro", "ar"]
DEFAULT_COMPRESSIBLE = (
    "text/*",
    "application/json",
    "application/*+json",
    "application/x-ndjson",
    "application/xml",
    "application/*+xml",
    "application/javascript",
    "application/x-yaml",
    "application/yaml",
    "application/sql",
    "image/svg+xml",
)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_STORAGE_", extra="ignore", validate_default=True)

    port: int = Field(8010, description="port to listen on")
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_storage",
        description="SQLAlchemy URL of this SE's index database (rebuildable from the sidecars)",
    )

    service_client_id: str = Field("svc-storage", description="this service's client id at the admin module")
    service_client_secret: SecretStr = Field(
        SecretStr(""),
        description="this service's client secret (client credentials grant); empty = no audit delivery, "
        "registration or heartbeat",
    )

    se_id: str = Field("se-1", description="this storage element's id, unique in the fleet")
    name: str = Field("", description="display name of this SE; empty = se_id")
    initial_mode: Mode = Field(
        "rw", description="edit, rw, ro or ar; used only when the SE has no persisted mode yet"
    )
    priority: int = Field(100, description="placement order among writable SEs: lower = filled first")
    root: Path = Field(
        Path(),
        description="data directory of the local backend; empty = <temp dir>/artstore-<se_id>/data "
        "(development only)",
    )
    state_dir: Path = Field(
        Path(),
        description="local state (WAL, persisted mode); empty = <temp dir>/artstore-<se_id>/state "
        "(development only)",
    )
    backend: Literal["local", "s3"] = Field(
        "local", description="where the bytes live: local (the root directory) or s3"
    )
    s3_endpoint: str = Field(
        "", description="host[:port] of the S3 endpoint (s3 backend; a scheme is ignored, see s3_secure)"
    )
    s3_access_key: str = Field("", description="S3 access key (s3 backend)")
    s3_secret_key: SecretStr = Field(SecretStr(""), description="S3 secret key (s3 backend)")
    s3_bucket: str = Field("artstore", description="S3 bucket, created if missing (s3 backend)")
    s3_secure: bool = Field(False, description="use HTTPS to reach the S3 endpoint")
    s3_prefix: str = Field("", description="key prefix of this SE's objects in the bucket; empty = none")
    quota_bytes: int = Field(0, description="capacity of this SE (bytes); 0 = limited by free space only")
    max_upload_bytes: int = Field(10 * 1024**3, description="largest file accepted (bytes); larger = 413")
    fsync: bool = Field(
        True,
        description="fsync data, sidecars, WAL and mode to disk before acknowledging a write",
    )
    keep_cache_bytes: int = Field(
        KEEP_CACHE_BYTES,
        ge=-1,
        description="local backend with fsync: a file larger than this (bytes) leaves the page cache "
        "once it is durable, so large archive writes do not crowd out what readers use; -1 = keep every file",
    )
    sync_every_bytes: int = Field(
        SYNC_EVERY_BYTES,
        ge=0,
        description="local backend with fsync: while a file is written, make each stretch of this "
        "many bytes durable (bounds its dirty pages); 0 = only when the upload completes",
    )
    retention_interval_seconds: float = Field(
        300.0, description="how often an edit SE deletes its expired temporary files (s)"
    )
    scrub_mib_per_second: float = Field(
        50.0, description="read rate limit of the integrity scrub (MiB/s); 0 = unthrottled"
    )
    capacity_warning_ratio: float = Field(
        0.80, description="share of capacity used (and reserved) from which the SE reports warning"
    )
    capacity_critical_ratio: float = Field(
        0.95, description="share of capacity used (and reserved) from which the SE reports critical"
    )

    compression: Literal["none", "zstd", "gzip"] = Field(
        "none",
        description="internal encoding of new uploads whose content type matches compression_content_types: "
        "none, zstd or gzip (size, sha256, ETag and Range always describe the original bytes)",
    )
    compression_content_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_COMPRESSIBLE),
        description="media type patterns (JSON list, shell wildcards such as text/*) compressed when "
        "compression is on",
    )
    compression_min_bytes: int = Field(
        4096, description="uploads declared smaller than this (bytes) are stored as is"
    )

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
