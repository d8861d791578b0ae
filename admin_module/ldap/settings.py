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

    urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    start_tls: bool = False
    ca_file: str | None = None
    bind_dn: str = "cn=readonly,dc=artstore,dc=local"
    bind_password: SecretStr = SecretStr("")
    users_base: str = "ou=users,dc=artstore,dc=local"
    dismissed_base: str = "ou=dismissed,dc=artstore,dc=local"
    groups_base: str = "ou=Groups,dc=artstore,dc=local"
    user_filter: str = "(objectClass=inetOrgPerson)"
    group_filter: str = "(objectClass=groupOfNames)"
    group_member_attr: str = "member"
    attr_uid: str = "uid"
    attr_mail: str = "mail"
    attr_given_name: str = "givenName"
    attr_sn: str = "sn"
    attr_cn: str = "cn"
    group_roles: dict[str, Role] = Field(default_factory=lambda: dict(DEFAULT_GROUP_ROLES))
    precedence: Literal["local", "ldap"] = "local"
    sync_interval_seconds: float = Field(default=900.0, gt=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    operation_timeout: float = Field(default=10.0, gt=0)

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
