"""The mode table of ARCHITECTURE.md section 3, as data, and the transition rules."""

from __future__ import annotations

from typing import Literal

Operation = Literal["create", "read", "read_content", "update", "delete"]

ALLOWED: dict[str, frozenset[str]] = {
    "edit": frozenset({"create", "read", "read_content", "update", "delete"}),
    "rw": frozenset({"create", "read", "read_content", "update", "delete"}),
    "ro": frozenset({"read", "read_content", "delete"}),
    "ar": frozenset({"read"}),
}
# Deletes in rw and ro only when retention has expired (checked with the file's retention).
DELETE_NEEDS_EXPIRED = frozenset({"rw", "ro"})
TRANSITIONS: dict[tuple[str, str], bool] = {  # (from, to) -> needs confirm
    ("rw", "ro"): False,
    ("ro", "ar"): False,
    ("ro", "rw"): True,
}


def allowed_operations(mode: str) -> list[str]:
    return sorted(ALLOWED[mode])
