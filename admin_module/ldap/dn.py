"""Distinguished names compared the way a directory compares them (case and spacing aside)."""

from __future__ import annotations

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn


def normalize_dn(dn: str) -> str:
    try:
        parts = parse_dn(dn, strip=True)
    except LDAPInvalidDnError:
        return dn.strip().lower()
    return "".join(f"{attr.lower()}={value.strip().lower()}{sep.strip()}" for attr, value, sep in parts)


def is_under(dn: str, base: str) -> bool:
    """True when ``dn`` is ``base`` itself or below it."""
    entry, root = normalize_dn(dn), normalize_dn(base)
    return entry == root or entry.endswith("," + root)
