"""Search parameters, the opaque keyset cursor, and response shapes."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from query_module.catalog.schemas import FileRecord
from query_module.errors import InvalidCursor

Sort = Literal["relevance", "created_at", "size", "filename"]
Order = Literal["asc", "desc"]
FACETS = ("content_type", "tag", "storage_element_id", "retention_policy", "year")


@dataclass
class SearchQuery:
    q: str | None = None
    filename: str | None = None
    content_type: str | None = None
    tags: list[str] = field(default_factory=list)
    owner: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    size_min: int | None = None
    size_max: int | None = None
    retention_policy: str | None = None
    storage_element_id: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    sort: Sort | None = None
    order: Order | None = None
    limit: int = 50
    cursor: str | None = None
    facets: bool = False
    # Set by the service before any SQL runs: the owner ids ``owner`` names (see
    # repository.owner_ids), so that the owner filter is an equality on an index.
    owner_ids: tuple[str, ...] | None = None

    @property
    def text(self) -> str | None:
        return self.q.strip() if self.q and self.q.strip() else None

    @property
    def effective_sort(self) -> Sort:
        if self.sort == "relevance" and not self.text:
            return "created_at"
        return self.sort or ("relevance" if self.text else "created_at")

    @property
    def effective_order(self) -> Order:
        return self.order or ("asc" if self.effective_sort == "filename" else "desc")


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the last row's sort key and file id. A broad relevance
    query (search/pages.py docstring) also carries its window's ``anchor`` (created_at,
    file_id of the oldest candidate ranked), and ``older`` once the last row was past it
    (its key is then its created_at)."""

    key: list[Any]
    anchor: list[Any] | None = None
    older: bool = False


def encode_cursor(sort: str, order: str, cursor: Cursor) -> str:
    body: dict[str, Any] = {"s": sort, "o": order, "k": cursor.key}
    if cursor.anchor is not None:
        body["a"] = cursor.anchor
    if cursor.older:
        body["p"] = 1
    raw = json.dumps(body, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, order: str) -> Cursor:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key, anchor, older = body["k"], body.get("a"), body.get("p") == 1
        valid = (
            body["s"] == sort
            and body["o"] == order
            and _pair(key)
            and (anchor is None or (sort == "relevance" and _pair(anchor)))
            and (not older or anchor is not None)
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidCursor("the cursor is not one this service issued") from exc
    if not valid:
        raise InvalidCursor("the cursor belongs to another sort order")
    return Cursor(list(key), list(anchor) if anchor is not None else None, older)


def _pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2


class FacetValue(BaseModel):
    value: str
    count: int


class SearchItem(FileRecord):
    score: float | None = Field(description="relevance (with q), else null")


class SearchPage(BaseModel):
    items: list[SearchItem]
    next_cursor: str | None
    total: int
    total_is_estimate: bool
    facets: dict[str, list[FacetValue]] | None = None


class Suggestion(BaseModel):
    value: str
    kind: Literal["filename", "tag"]


class Suggestions(BaseModel):
    items: list[Suggestion]
