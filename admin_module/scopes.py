"""The scope table of ARCHITECTURE.md section 4: what exists, what each role and fleet account holds."""

from __future__ import annotations

from shared.auth import KNOWN_SCOPES

__all__ = ["FLEET_ACCOUNTS", "KNOWN_SCOPES", "ROLE_SCOPES", "unknown"]


_USER = ("files:read", "files:write", "files:delete")
_OPERATOR = (*_USER, "storage:read", "storage:admin")
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "USER": frozenset(_USER),
    "OPERATOR": frozenset(_OPERATOR),
    "ADMIN": frozenset((*_OPERATOR, "identity:admin")),
}

FLEET_ACCOUNTS: dict[str, tuple[str, frozenset[str]]] = {
    "svc-admin": ("ArtStore admin module", frozenset({"storage:read", "storage:admin", "audit:write"})),
    "svc-storage": (
        "ArtStore storage elements",
        frozenset({"files:read", "storage:register", "audit:write"}),
    ),
    "svc-ingester": (
        "ArtStore ingester module",
        frozenset(
            {
                "files:read",
                "files:write",
                "files:write-on-behalf",
                "files:delete",
                "files:relocate",
                "audit:write",
            }
        ),
    ),
    "svc-query": ("ArtStore query module", frozenset({"files:read", "feed:read", "audit:write"})),
}


def unknown(scopes: set[str] | frozenset[str] | list[str]) -> list[str]:
    return sorted(set(scopes) - KNOWN_SCOPES)
