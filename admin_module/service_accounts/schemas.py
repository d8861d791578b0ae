"""Bodies of the service-accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AccountStatus = Literal["ACTIVE", "SUSPENDED", "DELETED"]


class ServiceAccountOut(BaseModel):
    id: uuid.UUID
    client_id: str
    name: str
    scopes: list[str]
    status: AccountStatus
    fleet: bool
    secret_expires_at: datetime | None
    secret_rotated_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ServiceAccountWithSecret(ServiceAccountOut):
    client_secret: str = Field(description="shown once; only its hash is stored")


class ServiceAccountCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    scopes: list[str] = Field(min_length=1, max_length=32)
    client_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")


class ServiceAccountUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    scopes: list[str] | None = Field(default=None, min_length=1, max_length=32)
    status: Literal["ACTIVE", "SUSPENDED"] | None = None


class ServiceAccountPage(BaseModel):
    items: list[ServiceAccountOut]
    next_cursor: str | None
    total: int
