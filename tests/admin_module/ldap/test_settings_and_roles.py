"""Directory settings from the environment, and the group-to-role mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from admin_module.ldap.roles import role_for
from admin_module.ldap.settings import LdapSettings

ADMINS = ("cn=artstore-admins,ou=Groups,dc=artstore,dc=local", "artstore-admins")
OPERATORS = ("cn=artstore-operators,ou=Groups,dc=artstore,dc=local", "artstore-operators")
USERS = ("cn=artstore-users,ou=Groups,dc=artstore,dc=local", "artstore-users")
OTHER = ("cn=accounting,ou=Groups,dc=artstore,dc=local", "accounting")


def test_disabled_without_urls_and_defaults_match_the_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URLS", "GROUP_ROLES", "SYNC_INTERVAL_SECONDS"):
        monkeypatch.delenv(f"ARTSTORE_ADMIN_LDAP_{name}", raising=False)
    settings = LdapSettings()
    assert not settings.enabled
    assert settings.sync_interval_seconds == 900
    assert settings.precedence == "local"
    assert settings.group_roles == {
        "artstore-admins": "ADMIN",
        "artstore-operators": "OPERATOR",
        "artstore-users": "USER",
    }


def test_environment_urls_in_order_and_json_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTSTORE_ADMIN_LDAP_URLS", "ldap://one:389, ldaps://two:636")
    monkeypatch.setenv("ARTSTORE_ADMIN_LDAP_BIND_PASSWORD", "a-long-real-bind-password")
    monkeypatch.setenv("ARTSTORE_ADMIN_LDAP_GROUP_ROLES", '{"cn=Boss,ou=Groups,dc=x": "ADMIN"}')
    monkeypatch.setenv("ARTSTORE_ADMIN_LDAP_START_TLS", "true")
    settings = LdapSettings()
    assert settings.enabled
    assert settings.urls == ["ldap://one:389", "ldaps://two:636"]
    assert settings.group_roles == {"cn=Boss,ou=Groups,dc=x": "ADMIN"}
    assert settings.start_tls
    monkeypatch.setenv("ARTSTORE_ADMIN_LDAP_URLS", '["ldap://a", "ldap://b"]')
    assert LdapSettings().urls == ["ldap://a", "ldap://b"]


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTSTORE_ENV", "production")
    with pytest.raises(ValidationError, match="ldap://"):
        LdapSettings(urls=["http://directory"])
    with pytest.raises(ValidationError):
        LdapSettings(group_roles={"artstore-admins": "ROOT"})  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="placeholder"):
        LdapSettings(urls=["ldap://x"], bind_password="change-me")  # type: ignore[arg-type]
    monkeypatch.setenv("ARTSTORE_ENV", "development")
    assert LdapSettings(urls=["ldap://x"], bind_password="change-me").enabled  # type: ignore[arg-type]


def test_highest_mapped_role_wins() -> None:
    mapping = LdapSettings().group_roles
    assert role_for([USERS, ADMINS, OPERATORS], mapping) == "ADMIN"
    assert role_for([USERS, OPERATORS], mapping) == "OPERATOR"
    assert role_for([USERS, OTHER], mapping) == "USER"
    assert role_for([OTHER], mapping) is None
    assert role_for([], mapping) is None


def test_mapping_by_dn_or_cn_ignores_case_and_spacing() -> None:
    by_dn = {"CN=Accounting, OU=Groups, DC=artstore, DC=local": "OPERATOR"}
    assert role_for([OTHER], by_dn) == "OPERATOR"  # type: ignore[arg-type]
    assert role_for([OTHER], {"ACCOUNTING": "USER"}) == "USER"
