"""Group-to-role mapping: the highest role of the person's mapped groups wins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from admin_module.ldap.dn import normalize_dn
from admin_module.ldap.settings import ROLE_RANK, Role


def role_for(groups: Iterable[tuple[str, str]], mapping: Mapping[str, Role]) -> Role | None:
    """The role for a person in ``groups`` (``(dn, cn)`` pairs), or None when none is mapped.

    A mapping key names a group by its cn (``artstore-admins``) or its full DN; both are
    compared case-insensitively.
    """
    by_key = {_key(name): role for name, role in mapping.items()}
    best: Role | None = None
    for dn, cn in groups:
        for candidate in (by_key.get(_key(dn)), by_key.get(cn.lower())):
            if candidate and (best is None or ROLE_RANK[candidate] > ROLE_RANK[best]):
                best = candidate
    return best


def _key(name: str) -> str:
    return normalize_dn(name) if "=" in name else name.strip().lower()
