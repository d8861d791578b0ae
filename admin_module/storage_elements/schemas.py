"""Request and response bodies of the registry API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, HttpUrl


class Capacity(BaseModel):
    total: int = 0
    used: int = 0
    free: int = 0
    reserved: int = 0


class StorageElementOut(BaseModel):
    id: str
    name: str
    url: str
    mode: str
    status: str
    status_reason: str | None = None
    priority: int
    capacity: Capacity
    file_count: int = 0
    backend: str | None = None
    allowed_operations: list[str] = Field(default_factory=list)
    version: str | None = None
    last_seen_at: datetime | None = None
    registered_at: datetime
    updated_at: datetime


class StorageElementList(BaseModel):
    items: list[StorageElementOut]
    next_cursor: str | None = None
    total: int


class RegisterByUrl(BaseModel):
    url: HttpUrl


class SelfRegistration(BaseModel):
    id: str = Field(min_length=1, max_length=128)
    url: HttpUrl


class StorageElementPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int | None = Field(default=None, ge=0, le=1_000_000)


class ModeChange(BaseModel):
    mode: str
    confirm: bool | None = None


class Snapshot(BaseModel):
    version: int
    generated_at: datetime
    storage_elements: list[dict[str, Any]]


class Heartbeat(BaseModel):
    kind: str = Field(min_length=1, max_length=64)
    instance_id: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=500)
    version: str = Field(max_length=64)
    started_at: datetime


class InstanceOut(BaseModel):
    kind: str
    instance_id: str
    url: str
    version: str
    started_at: datetime
    last_seen_at: datetime
    status: str  # up | stale


class FleetView(BaseModel):
    items: list[InstanceOut]
    storage_elements: list[StorageElementOut]
