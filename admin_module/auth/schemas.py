"""Bodies of the auth endpoints that are JSON (the token endpoint itself is form-encoded)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PasswordResetRequest(BaseModel):
    login: str = Field(min_length=1, max_length=320)


class PasswordResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=1024)
