"""Settings of the query module, read from ``ARTSTORE_QUERY_*`` environment variables."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_QUERY_", extra="ignore", validate_default=True)

    port: int = Field(8030, description="port to listen on")
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_query",
        description="SQLAlchemy URL of the catalog database (a projection: it can be dropped and rebuilt)",
    )

    service_client_id: str = Field("svc-query", description="this service's client id at the admin module")
    service_client_secret: SecretStr = Field(
        SecretStr(""), description="this service's client secret (client credentials grant)"
    )

    storage_elements: list[dict[str, Any]] = Field(
        default_factory=list,
        description='static discovery: JSON list of {"id","name","url","mode","priority"} '
        "(tests, single-node setups)",
    )

    feed_poll_interval_seconds: float = Field(
        5.0, description="each SE's change feed is polled this often when no Redis notification wakes it"
    )
    feed_gather_seconds: float = Field(
        0.02,
        ge=0,
        le=1.0,
        description="after a change notification, wait this long before pulling, so one page and one "
        "transaction carry the changes that arrive meanwhile (adds at most this to upload-to-searchable)",
    )
    feed_page_size: int = Field(
        500,
        ge=1,
        le=1000,  # the SE answers a larger ``limit`` with 422
        description="changes fetched per feed page (one transaction each)",
    )
    feed_discovery_interval_seconds: float = Field(
        5.0, description="how often discovery is re-read to start feed runners for new SEs"
    )

    cache_max_entries: int = Field(10_000, description="size bound of the in-process metadata LRU")
    cache_ttl_seconds: float = Field(
        60.0, description="in-process metadata TTL while Redis invalidations arrive (5 s at most without)"
    )
    cache_redis_ttl_seconds: float = Field(300.0, description="TTL of metadata entries cached in Redis")

    search_total_cap: int = Field(
        10_000, description="search totals are exact up to this many matches, then estimated"
    )
    search_relevance_window: int = Field(
        10_000,
        ge=0,
        description="a relevance-sorted search with more matches than this ranks only this many of the "
        "most recent ones, then lists the older matches newest first (ADR 0005); 0 ranks every match",
    )

    link_secret: SecretStr = Field(
        SecretStr(""),
        description="HMAC key of signed download links; without one links are refused (but in development)",
    )
    link_ttl_seconds: int = Field(300, description="lifetime of a signed download link")
    download_chunk_bytes: int = Field(1024 * 1024, description="bytes relayed per chunk (bounds memory)")
    breaker_failures: int = Field(3, description="consecutive failures that open an SE circuit")
    breaker_reset_seconds: float = Field(15.0, description="how long an open circuit skips the SE")
    retry_after_seconds: int = Field(5, description="Retry-After of a 503 when no copy is reachable")

    @field_validator("cache_ttl_seconds")
    @classmethod
    def _positive_ttl(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("cache_ttl_seconds must be positive")
        return value
