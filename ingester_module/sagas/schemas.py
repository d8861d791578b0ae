"""Request and response shapes of the saga endpoints (API.md "ingester_module")."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class FinalizeRequest(BaseModel):
    retain_until: datetime | None = None


class TransferRequest(BaseModel):
    target_storage_element_id: str = Field(min_length=1)


class SagaAccepted(BaseModel):
    saga_id: str


class BatchRequest(BaseModel):
    operation: Literal["finalize", "delete", "transfer"]
    file_ids: list[str] = Field(min_length=1, max_length=1000)
    retain_until: datetime | None = None
    target_storage_element_id: str | None = None


class BatchResult(BaseModel):
    file_id: str
    saga_id: str | None = None
    error: dict[str, Any] | None = None


class BatchAccepted(BaseModel):
    results: list[BatchResult]


class SagaView(BaseModel):
    id: str
    kind: str
    state: str
    file_id: str
    steps: list[dict[str, Any]]
    attempts: int
    error: str | None = None
    source_storage_element_id: str | None = None
    target_storage_element_id: str | None = None
    batch_id: str | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @classmethod
    def of(cls, saga: dict[str, Any]) -> SagaView:
        data = saga["data"]
        return cls(
            id=str(saga["id"]),
            kind=saga["kind"],
            state=saga["state"],
            file_id=saga["file_id"],
            steps=saga["steps"],
            attempts=saga["attempts"],
            error=saga["last_error"],
            source_storage_element_id=data.get("source"),
            target_storage_element_id=data.get("target"),
            batch_id=str(saga["batch_id"]) if saga["batch_id"] else None,
            created_at=saga["created_at"],
            updated_at=saga["updated_at"],
            finished_at=saga["finished_at"],
        )
