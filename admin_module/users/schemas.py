"""Bodies of the users API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

Role = Literal["ADMIN", "OPERATOR", "USER"]
Status = Literal["ACTIVE", "INACTIVE", "LOCKED", "DELETED"]
Source = Literal["LOCAL", "LDAP"]

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=320)]


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    email: str | None
    full_name: str | None
    role: Role
    status: Status
    source: Source
    ldap_dn: str | None
    last_sync_at: datetime | None
    password_changed_at: datetime | None
    failed_login_count: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=1, max_length=1024)
    role: Role = "USER"
    email: Email | None = None
    full_name: str | None = Field(default=None, max_length=256)


class UserUpdate(BaseModel):
    role: Role | None = None
    status: Literal["ACTIVE", "INACTIVE"] | None = None
    email: Email | None = None
    full_name: str | None = Field(default=None, max_length=256)


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None
    total: int


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)
