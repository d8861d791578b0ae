"""Settings of the LDAP directory, read from ``ARTSTORE_ADMIN_LDAP_*`` environment variables.

The admin module's :class:`~admin_module.settings.Settings` embeds one instance as
``settings.ldap``. The directory is disabled while no URL is configured.

``ARTSTORE_ADMIN_LDAP_URLS``          comma-separated (or a JSON list), tried in order (failover)
``ARTSTORE_ADMIN_LDAP_START_TLS``     upgrade ``ldap://`` with StartTLS; ``ldaps://`` URLs use TLS anyway
``ARTSTORE_ADMIN_LDAP_CA_FILE``       CA bundle verifying the server certificate (else the system store)
``ARTSTORE_ADMIN_LDAP_BIND_DN`` / ``_BIND_PASSWORD``   the read-only service account
``ARTSTORE_ADMIN_LDAP_USERS_BASE`` / ``_DISMISSED_BASE`` / ``_GROUPS_BASE``
``ARTSTORE_ADMIN_LDAP_USER_FILTER``   ANDed with ``(<uid attribute>=<login>)``
``ARTSTORE_ADMIN_LDAP_ATTR_UID`` / ``_ATTR_MAIL`` / ``_ATTR_GIVEN_NAME`` / ``_ATTR_SN`` / ``_ATTR_CN``
``ARTSTORE_ADMIN_LDAP_GROUP_ROLES``   JSON ``{"<group cn or DN>": "ADMIN"|"OPERATOR"|"USER"}``;
                                      the highest role of a person's groups wins
``ARTSTORE_ADMIN_LDAP_PRECEDENCE``    ``local`` (default: a LOCAL user keeps its name) or ``ldap``
``ARTSTORE_ADMIN_LDAP_SYNC_INTERVAL_SECONDS`` (900), ``_CONNECT_TIMEOUT``, ``_OPERATION_TIMEOUT``
``ARTSTORE_ADMIN_LDAP_SYNC_MAX_DEACTIVATION_RATIO`` (0.5) / ``_SYNC_DEACTIVATION_FLOOR`` (3)
                                      a sync that would deactivate more than the floor and more
                                      than this share of the active LDAP users changes nothing
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.settings import current_environment, is_placeholder

Role = Literal["ADMIN", "OPERATOR", "USER"]
ROLE_RANK: dict[str, int] = {"USER": 1, "OPERATOR": 2, "ADMIN": 3}

DEFAULT_GROUP_ROLES: dict[str, Role] = {
    "artstore-admins": "ADMIN",
    "artstore-operators": "OPERATOR",
    "artstore-users": "USER",
}


class LdapSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARTSTORE_ADMIN_LDAP_", extra="ignore", validate_default=True
    )

    urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="ldap:// or ldaps:// URLs, comma-separated or a JSON list, tried in order (failover); "
        "empty = the directory is off",
    )
    start_tls: bool = Field(
        False, description="upgrade ldap:// connections with StartTLS (ldaps:// URLs use TLS anyway)"
    )
    ca_file: str | None = Field(
        None, description="CA bundle verifying the server certificate; empty = the system store"
    )
    bind_dn: str = Field(
        "cn=readonly,dc=artstore,dc=local", description="DN of the read-only service account"
    )
    bind_password: SecretStr = Field(SecretStr(""), description="password of the service account")
    users_base: str = Field("ou=users,dc=artstore,dc=local", description="subtree searched for active people")
    dismissed_base: str = Field(
        "ou=dismissed,dc=artstore,dc=local",
        description="subtree of dismissed people: found there, a user is deactivated",
    )
    groups_base: str = Field("ou=Groups,dc=artstore,dc=local", description="subtree searched for groups")
    user_filter: str = Field(
        "(objectClass=inetOrgPerson)",
        description="LDAP filter of person entries, ANDed with (<attr_uid>=<login>)",
    )
    group_filter: str = Field("(objectClass=groupOfNames)", description="LDAP filter of group entries")
    group_member_attr: str = Field("member", description="group attribute listing its members' DNs")
    attr_uid: str = Field("uid", description="person attribute holding the login (username)")
    attr_mail: str = Field("mail", description="person attribute holding the e-mail address")
    attr_given_name: str = Field("givenName", description="person attribute holding the given name")
    attr_sn: str = Field("sn", description="person attribute holding the surname")
    attr_cn: str = Field("cn", description="attribute holding a person's full name and a group's name")
    group_roles: dict[str, Role] = Field(
        default_factory=lambda: dict(DEFAULT_GROUP_ROLES),
        description='JSON map {"<group cn or DN>": "ADMIN"|"OPERATOR"|"USER"}; the highest role of a '
        "person's groups wins; a person in no mapped group has no access",
    )
    precedence: Literal["local", "ldap"] = Field(
        "local",
        description="on a name clash, local: the LOCAL user keeps its name; ldap: the directory "
        "person takes the account over",
    )
    sync_interval_seconds: float = Field(
        default=900.0, gt=0, description="how often people and groups are synchronised from the directory (s)"
    )
    sync_max_deactivation_ratio: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="a sync that would deactivate more than this share of the active LDAP users (and more "
        "than sync_deactivation_floor) changes nothing and reports why: a misconfigured or "
        "half-visible directory must not lock everyone out; 1 = no limit",
    )
    sync_deactivation_floor: int = Field(
        default=3, ge=0, description="deactivations one sync may always make, whatever their share"
    )
    connect_timeout: float = Field(
        default=5.0, gt=0, description="timeout of connecting to one directory server (s)"
    )
    operation_timeout: float = Field(
        default=10.0, gt=0, description="timeout of one bind or search (s, whole seconds)"
    )

    @field_validator("urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("urls")
    @classmethod
    def _check_schemes(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.lower().startswith(("ldap://", "ldaps://")):
                raise ValueError(f"LDAP URL {url!r} must start with ldap:// or ldaps://")
        return urls

    @model_validator(mode="after")
    def _refuse_placeholder_password(self) -> LdapSettings:
        password = self.bind_password.get_secret_value()
        if self.urls and password and is_placeholder(password) and current_environment() != "development":
            raise ValueError(
                "ldap bind_password looks like a placeholder; set a real one "
                "(placeholders are accepted only with ARTSTORE_ENV=development)"
            )
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.urls)
