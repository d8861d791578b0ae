"""Request and response bodies of the audit log API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Actor(BaseModel):
    id: str | None = None
    username: str | None = None
    kind: str | None = None


class EventIn(BaseModel):
    """One event as ``shared.outbox.audit_event`` builds it."""

    id: uuid.UUID
    occurred_at: datetime
    service: str = Field(min_length=1, max_length=64)
    actor: Actor | None = None
    action: str = Field(min_length=1, max_length=128)
    target: str | None = Field(default=None, max_length=1024)
    outcome: str = Field(default="success", max_length=32)
    client_ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1024)
    request_id: str | None = Field(default=None, max_length=128)
    details: dict[str, Any] = Field(default_factory=dict)


class EventBatch(BaseModel):
    events: list[EventIn] = Field(max_length=1000)


class BatchResult(BaseModel):
    accepted: int
    duplicates: int


class EventOut(BaseModel):
    seq: int
    id: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
    service: str
    actor: Actor | None
    action: str
    target: str | None
    outcome: str
    client_ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, Any]
    submitted_by: str | None = None
    prev_hash: str
    hash: str


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    first_bad: str | None
    first_bad_seq: int | None = None
    reason: str | None = None


def actor_of(principal: Any) -> Actor:
    """The audit actor for a ``shared.auth.Principal``."""
    return Actor(id=principal.subject, username=principal.username, kind=principal.kind)
