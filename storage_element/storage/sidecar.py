"""The ``*.attr.json`` sidecar, schema version 1 (docs/formats/attr-json.md).

The sidecar is the truth about a stored file; every index is derived from it. Readers
accept unknown fields (kept as extras and written back unchanged), so a newer writer's
sidecar survives an older reader's update.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import InvalidInput

SCHEMA_VERSION = 1
MAX_DESCRIPTION_BYTES = 4 * 1024
MAX_TAGS = 50
MAX_TAG_CHARS = 64
MAX_METADATA_BYTES = 8 * 1024

CopyState = Literal["committed", "pending", "corrupt"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Owner(_Open):
    id: str
    username: str
    kind: Literal["user", "service"]


class Retention(_Open):
    policy: Literal["temporary", "permanent"] = "temporary"
    expires_at: datetime | None = None
    retain_until: datetime | None = None
    legal_hold: bool = False


class Related(_Open):
    previous_version: str | None = None
    detached_signature: str | None = None
    signature_of: str | None = None


class Quarantine(_Open):
    detected_at: datetime
    observed_sha256: str | None = None
    previous_state: Literal["committed", "pending"] = "committed"


class Encoding(_Open):
    """How the data object is stored when it is not the original bytes (storage/codec.py)."""

    name: Literal["zstd", "gzip"]
    stored_size: int


class Sidecar(_Open):
    schema_version: int = SCHEMA_VERSION
    file_id: str
    original_filename: str
    storage_name: str
    path: str  # data key relative to the SE root: YYYY/MM/DD/HH/<storage name>
    size: int
    content_type: str = "application/octet-stream"
    sha256: str
    created_at: datetime
    updated_at: datetime
    owner: Owner
    uploaded_via: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    retention: Retention = Field(default_factory=Retention)
    copy_state: CopyState = "committed"
    revision: int = 1
    related: Related = Field(default_factory=Related)
    quarantine: Quarantine | None = None
    encoding: Encoding | None = None  # absent = the data object is the original bytes

    @property
    def stored_size(self) -> int:
        """Bytes the data object takes on the backend (capacity accounting)."""
        return self.size if self.encoding is None else self.encoding.stored_size

    def dump(self) -> bytes:
        return json.dumps(self.doc(), ensure_ascii=False, indent=1, sort_keys=True).encode()

    def doc(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if data.get("encoding") is None:
            data.pop("encoding", None)  # written only when the bytes are encoded
        return data

    @classmethod
    def load(cls, raw: bytes | str | dict[str, Any]) -> Sidecar:
        data = json.loads(raw) if isinstance(raw, bytes | str) else raw
        if int(data.get("schema_version", 0)) != SCHEMA_VERSION:
            raise ValueError(f"unsupported sidecar schema_version {data.get('schema_version')!r}")
        return cls.model_validate(data)


def check_limits(*, description: str, tags: list[str], metadata: dict[str, Any]) -> None:
    if len(description.encode()) > MAX_DESCRIPTION_BYTES:
        raise InvalidInput("description is longer than 4 KiB")
    if len(tags) > MAX_TAGS or any(not t or len(t) > MAX_TAG_CHARS for t in tags):
        raise InvalidInput("at most 50 tags of 1 to 64 characters")
    if len(json.dumps(metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise InvalidInput("metadata is larger than 8 KiB of JSON")


def utcnow() -> datetime:
    return datetime.now(UTC)


def record(sidecar: Sidecar, *, se_id: str, mode: str) -> dict[str, Any]:
    """The API.md file record of this copy (retention flattened)."""
    doc = sidecar.doc()
    state = sidecar.copy_state
    status = "corrupt" if state == "corrupt" else "archived" if mode == "ar" else "available"
    return {
        "file_id": sidecar.file_id,
        "original_filename": sidecar.original_filename,
        "size": sidecar.size,
        "content_type": sidecar.content_type,
        "sha256": sidecar.sha256,
        "owner": doc["owner"],
        "description": sidecar.description,
        "tags": list(sidecar.tags),
        "metadata": doc["metadata"],
        "retention_policy": sidecar.retention.policy,
        "expires_at": doc["retention"]["expires_at"],
        "retain_until": doc["retention"]["retain_until"],
        "legal_hold": sidecar.retention.legal_hold,
        "revision": sidecar.revision,
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "storage_element_id": se_id,
        "copies": [{"storage_element_id": se_id, "mode": mode, "state": state}],
        "status": status,
        "storage_name": sidecar.storage_name,
        "uploaded_via": sidecar.uploaded_via,
        "related": doc["related"],
    }
