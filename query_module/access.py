"""Who may see which files (ARCHITECTURE.md section 4, the role table).

A USER sees only the files they own (owner id = the token's ``sub``); OPERATOR and ADMIN
see every file; service tokens holding ``files:read`` act for the fleet and see all.
Reads need the ``files:read`` scope in every case.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from shared.auth import Principal, require_scope

ReaderDep = Annotated[Principal, Depends(require_scope("files:read"))]


def sees_everything(principal: Principal) -> bool:
    return principal.kind == "service" or principal.at_least("OPERATOR")


def owner_restriction(principal: Principal) -> str | None:
    """The owner id a search must be limited to, or None for everything."""
    return None if sees_everything(principal) else principal.subject


def may_read(principal: Principal, record: dict[str, Any]) -> bool:
    return sees_everything(principal) or (record.get("owner") or {}).get("id") == principal.subject
