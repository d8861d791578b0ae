"""The file record as the query module returns it (API.md "The file record").

Documented for the OpenAPI (the admin UI's client types come from it); unknown extra
fields that an SE adds are passed through unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Owner(BaseModel):
    id: str
    username: str
    kind: Literal["user", "service"]


class CopyInfo(BaseModel):
    storage_element_id: str
    mode: str
    state: Literal["committed", "pending", "archived", "corrupt"]


class FileRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    file_id: str
    original_filename: str
    size: int
    content_type: str
    sha256: str
    owner: Owner
    description: str
    tags: list[str]
    metadata: dict[str, Any]
    retention_policy: Literal["temporary", "permanent"]
    expires_at: str | None = None
    retain_until: str | None = None
    legal_hold: bool
    revision: int
    created_at: str | None
    updated_at: str | None
    storage_element_id: str | None = Field(description="the copy downloads use")
    copies: list[CopyInfo]
    status: Literal["available", "archived", "corrupt"]


class DownloadLink(BaseModel):
    url: str
    expires_at: str
