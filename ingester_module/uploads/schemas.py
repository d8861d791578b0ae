"""Upload fields (API.md "ingester_module") and their documented limits.

The limits are those of the sidecar (ARCHITECTURE.md section 3): description 4 KiB, at
most 50 tags of 1-64 characters, user metadata 8 KiB of JSON. They are checked before a
single byte goes to a storage element, so a bad request costs nothing there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingester_module.errors import InvalidField

MAX_DESCRIPTION_BYTES = 4 * 1024
MAX_TAGS = 50
MAX_TAG_CHARS = 64
MAX_METADATA_BYTES = 8 * 1024
MAX_FILENAME_CHARS = 1024

Policy = Literal["temporary", "permanent"]


def check_description(value: str) -> str:
    if len(value.encode()) > MAX_DESCRIPTION_BYTES:
        raise ValueError("description is longer than 4 KiB")
    return value


def check_tags(value: list[str]) -> list[str]:
    tags = list(dict.fromkeys(t.strip() for t in value if t.strip()))
    if len(tags) > MAX_TAGS:
        raise ValueError("at most 50 tags")
    if any(len(t) > MAX_TAG_CHARS for t in tags):
        raise ValueError("a tag has more than 64 characters")
    return tags


def check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise ValueError("metadata is larger than 8 KiB of JSON")
    return value


class MetadataFields(BaseModel):
    """Description, tags and user metadata, as uploads accept them."""

    description: Annotated[str, AfterValidator(check_description)] = ""
    tags: Annotated[list[str], AfterValidator(check_tags)] = Field(default_factory=list)
    metadata: Annotated[dict[str, Any], AfterValidator(check_metadata)] = Field(default_factory=dict)


class UploadFields(MetadataFields):
    retention_policy: Policy = "temporary"
    ttl_days: int | None = Field(default=None, ge=1, le=36500)
    retain_until: datetime | None = None

    @model_validator(mode="after")
    def _retention(self) -> UploadFields:
        if self.retention_policy == "temporary" and self.retain_until is not None:
            raise ValueError("retain_until applies to permanent files only")
        if self.retention_policy == "permanent" and self.ttl_days is not None:
            raise ValueError("ttl_days applies to temporary files only")
        if self.retain_until is not None:
            if self.retain_until.tzinfo is None:
                self.retain_until = self.retain_until.replace(tzinfo=UTC)
            if self.retain_until <= datetime.now(UTC):
                raise ValueError("retain_until must be in the future")
        return self

    def retention(self, default_ttl_days: int) -> dict[str, Any]:
        """The sidecar's retention object for a new file."""
        expires = None
        if self.retention_policy == "temporary":
            expires = datetime.now(UTC) + timedelta(days=self.ttl_days or default_ttl_days)
        return {
            "policy": self.retention_policy,
            "expires_at": expires.isoformat() if expires else None,
            "retain_until": self.retain_until.isoformat() if self.retain_until else None,
            "legal_hold": False,
        }


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]


def parse_fields(raw: dict[str, list[str]], *, tags_csv: bool = False) -> UploadFields:
    """Build :class:`UploadFields` from form/query/tus values; 422 with the bad fields."""
    data: dict[str, Any] = {}
    for key in ("description", "retention_policy", "ttl_days", "retain_until"):
        if raw.get(key) and raw[key][-1] != "":
            data[key] = raw[key][-1]
    tags = raw.get("tags", [])
    if tags_csv:
        tags = [t for value in tags for t in value.split(",")]
    data["tags"] = tags
    if raw.get("metadata") and raw["metadata"][-1].strip():
        try:
            data["metadata"] = json.loads(raw["metadata"][-1])
        except ValueError as exc:
            raise InvalidField(
                "metadata is not valid JSON",
                errors=[{"loc": ["metadata"], "msg": str(exc), "type": "json_invalid"}],
            ) from exc
    try:
        return UploadFields.model_validate(data)
    except ValidationError as exc:
        raise InvalidField("the upload has invalid fields", errors=_errors(exc)) from exc


def _last(raw: dict[str, list[str]], key: str) -> str | None:
    values = raw.get(key)
    return values[-1] if values and values[-1] != "" else None


def _after_file(name: str, detail: str) -> InvalidField:
    return InvalidField(detail, errors=[{"loc": [name], "msg": detail, "type": "after_file_part"}])


@dataclass
class LateFields:
    """Multipart fields that followed the file part (ADR 0003, "Fields after the file").

    :meth:`accept` runs when the body has ended but before the SE commits, so a refusal
    (422) leaves nothing stored. The fields are validated together with those sent before
    the file, exactly as if all had come first; what differs from the upload's headers
    becomes :attr:`changes`, a PATCH the uploads service sends right after the commit.
    """

    before: dict[str, list[str]]
    placed: UploadFields
    default_ttl_days: int
    changes: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # the form fields the PATCH carries

    def accept(self, late: dict[str, list[str]]) -> None:
        policy = _last(late, "retention_policy")
        if policy in ("temporary", "permanent") and policy != self.placed.retention_policy:
            raise _after_file(
                "retention_policy",
                f"retention_policy={policy} came after the file part, but it decides where the file "
                f"is stored before its first byte (this upload was placed as "
                f"{self.placed.retention_policy}); send retention_policy before the file part",
            )
        keys = {*self.before, *late}
        fields = parse_fields({k: self.before.get(k, []) + late.get(k, []) for k in keys})
        for name in ("description", "tags", "metadata"):
            if getattr(fields, name) != getattr(self.placed, name):
                self.changes[name] = getattr(fields, name)
                self.names.append(name)
        if fields.ttl_days != self.placed.ttl_days:
            expires = datetime.now(UTC) + timedelta(days=fields.ttl_days or self.default_ttl_days)
            self.changes["retention"] = {"expires_at": expires.isoformat()}
            self.names.append("ttl_days")
        if fields.retain_until != self.placed.retain_until:
            self._retain_until(fields.retain_until)

    def _retain_until(self, value: datetime | None) -> None:
        """Only a later date than one sent before the file: the SE never shortens a permanent file."""
        current = self.placed.retain_until
        if current is None or value is None or value < current:
            raise _after_file(
                "retain_until",
                "retain_until came after the file part: the file is already stored as permanent "
                f"{'indefinitely' if current is None else 'until ' + current.isoformat()}, and a "
                "permanent file's retention can never be shortened; send retain_until before the "
                "file part",
            )
        self.changes["retention"] = {"retain_until": value.isoformat()}
        self.names.append("retain_until")


def check_filename(name: str | None) -> str:
    if not name or not name.strip():
        raise InvalidField("a file name is required", errors=[{"loc": ["filename"], "msg": "missing"}])
    if len(name) > MAX_FILENAME_CHARS:
        raise InvalidField("the file name is too long", errors=[{"loc": ["filename"], "msg": "too long"}])
    return name


class FileUpdate(BaseModel):
    """PATCH /api/v1/files/{id}: every field optional, the same limits."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, AfterValidator(check_description)] | None = None
    tags: Annotated[list[str], AfterValidator(check_tags)] | None = None
    metadata: Annotated[dict[str, Any], AfterValidator(check_metadata)] | None = None
    legal_hold: bool | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return _errors(exc)
