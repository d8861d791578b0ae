"""Bodies of the keys API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

KeyState = Literal["active", "retiring", "retired"]


class KeyOut(BaseModel):
    kid: str
    algorithm: str
    created_at: datetime
    retired_at: datetime | None
    verify_until: datetime | None
    state: KeyState


class KeyList(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None = None
