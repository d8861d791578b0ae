"""Request and response shapes of the file endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class OwnerOut(BaseModel):
    id: str
    username: str
    kind: str


class CopyOut(BaseModel):
    storage_element_id: str
    mode: str
    state: str


class FileRecord(BaseModel):
    """The API.md file record (fields may be added, never renamed)."""

    model_config = ConfigDict(extra="allow")

    file_id: str
    original_filename: str
    size: int
    content_type: str
    sha256: str
    owner: OwnerOut
    description: str
    tags: list[str]
    metadata: dict[str, Any]
    retention_policy: Literal["temporary", "permanent"]
    expires_at: datetime | None
    retain_until: datetime | None
    legal_hold: bool
    revision: int
    created_at: datetime
    updated_at: datetime
    storage_element_id: str
    copies: list[CopyOut]
    status: Literal["available", "archived", "corrupt"]


class FileList(BaseModel):
    items: list[FileRecord]
    next_cursor: str | None


class RetentionPatch(BaseModel):
    policy: Literal["temporary", "permanent"] | None = None
    expires_at: datetime | None = None
    retain_until: datetime | None = None


class FilePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    retention: RetentionPatch | None = None
    legal_hold: bool | None = None
    copy_state: Literal["committed"] | None = None
    # The flat spelling of the file record is accepted too and folded into ``retention``.
    retention_policy: Literal["temporary", "permanent"] | None = None
    expires_at: datetime | None = None
    retain_until: datetime | None = None

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True)
        flat = {
            k.removeprefix("retention_"): data.pop(k)
            for k in ("retention_policy", "expires_at", "retain_until")
            if k in data
        }
        if flat:
            data["retention"] = {**(data.get("retention") or {}), **flat}
        return data


class VerifyResult(BaseModel):
    ok: bool
    sha256: str | None
