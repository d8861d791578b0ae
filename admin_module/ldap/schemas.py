"""Bodies of ``/api/v1/ldap/*``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SyncReport(BaseModel):
    """What one sync did. ``errors`` lists entries it could not apply, one line each;
    ``aborted`` says why a run changed nothing at all (a missing base, too many deactivations)."""

    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    errors: list[str] = Field(default_factory=list)
    aborted: str | None = None
    trigger: Literal["manual", "scheduled"] = "manual"
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ConnectionStatus(BaseModel):
    state: Literal["up", "down", "disabled"]
    server: str | None = None
    error: str | None = None
    checked_at: datetime | None = None


class LastSync(BaseModel):
    at: datetime
    outcome: str
    trigger: str | None = None
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    errors: list[str] = Field(default_factory=list)
    aborted: str | None = None


class LdapStatus(BaseModel):
    enabled: bool
    urls: list[str]
    sync_interval_seconds: float
    sync_max_deactivation_ratio: float
    connection: ConnectionStatus
    last_sync: LastSync | None = None
    last_successful_sync_at: datetime | None = None
