"""Settings of the query module, read from ``ARTSTORE_QUERY_*`` environment variables."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_QUERY_", extra="ignore", validate_default=True)

    port: int = 8030
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_query"

    # This service's own account at the admin module (client credentials grant).
    service_client_id: str = "svc-query"
    service_client_secret: SecretStr = SecretStr("")

    # Static discovery: a JSON list of {"id","name","url","mode","priority",...}. Used by
    # tests and single-node setups; the fleet reads the admin module's registry instead.
    storage_elements: list[dict[str, Any]] = Field(default_factory=list)

    # Change-feed runner: how often each SE is polled when no Redis notification arrives,
    # how many changes one page carries, and how often discovery is re-read for new SEs.
    feed_poll_interval_seconds: float = 5.0
    feed_page_size: int = 500
    feed_discovery_interval_seconds: float = 5.0

    # Metadata cache: in-process LRU (bounded), then Redis. Without working Redis
    # invalidations the in-process TTL is capped at 5 seconds (ARCHITECTURE.md section 7).
    cache_max_entries: int = 10_000
    cache_ttl_seconds: float = 60.0
    cache_redis_ttl_seconds: float = 300.0

    # Search: `total` is counted exactly up to this many matches, then estimated.
    search_total_cap: int = 10_000

    # Downloads: signed links (HMAC secret, lifetime), circuit breaker per SE.
    link_secret: SecretStr = SecretStr("")
    link_ttl_seconds: int = 300
    download_chunk_bytes: int = 256 * 1024
    breaker_failures: int = 3
    breaker_reset_seconds: float = 15.0
    retry_after_seconds: int = 5

    @field_validator("cache_ttl_seconds")
    @classmethod
    def _positive_ttl(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("cache_ttl_seconds must be positive")
        return value
