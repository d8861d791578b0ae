"""Settings of the admin module, read from ``ARTSTORE_ADMIN_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from admin_module.ldap.settings import LdapSettings
from shared.settings import ServiceSettings, is_placeholder

DEVELOPMENT_KEK = "dev-only-key-encryption-key-do-not-use"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_ADMIN_", extra="ignore", validate_default=True)

    port: int = 8000
    # The admin reads its JWKS from its own database: refetching on an unknown kid is cheap.
    jwks_min_refresh_seconds: float = 1.0
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_admin"

    # Bootstrap ADMIN: created once, never overwritten.
    bootstrap_username: str = "admin"
    bootstrap_password: SecretStr | None = None
    bootstrap_password_file: Path | None = None
    # The fleet's own service accounts: client_id -> secret (JSON in ARTSTORE_ADMIN_FLEET_SECRETS).
    fleet_secrets: dict[str, SecretStr] = Field(default_factory=dict)

    # Signing keys: private keys are encrypted with this key-encryption key (or the file's content).
    key_encryption_key: SecretStr | None = None
    key_encryption_key_file: Path | None = None
    key_rotation_days: float = 30.0
    key_rotation_check_seconds: float = 3600.0
    rsa_key_size: int = 2048

    # Tokens.
    access_token_lifetime_seconds: int = 1800
    refresh_token_lifetime_seconds: int = 7 * 24 * 3600

    # Passwords, lockout, brute force.
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    password_min_length: int = Field(default=12, ge=8)
    password_history: int = Field(default=5, ge=1)
    lockout_threshold: int = 5
    lockout_window_seconds: int = 15 * 60
    lockout_duration_seconds: int = 15 * 60
    rate_limit_window_seconds: int = 60
    rate_limit_per_ip: int = 60
    rate_limit_per_username: int = 20
    service_secret_lifetime_days: int = 365

    # Password reset by mail.
    password_reset_lifetime_seconds: int = 15 * 60
    password_reset_url: str = "http://127.0.0.1:4200/reset-password"  # noqa: S105 (a URL)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "artstore@localhost"
    smtp_timeout: float = 10.0

    # The storage-element registry, its health polling and the fleet view.
    health_poll_seconds: float = Field(10.0, gt=0, description="how often every storage element is polled")
    registry_republish_seconds: float = Field(
        10.0, gt=0, description="the discovery snapshot is republished to Redis at least this often"
    )
    se_call_timeout_seconds: float = Field(
        5.0, gt=0, description="timeout of the admin's calls to a storage element"
    )
    heartbeat_stale_seconds: float = Field(
        20.0, gt=0, description="an instance not heard from for this long is shown as stale in the fleet view"
    )
    heartbeat_forget_seconds: float = Field(
        3600.0, gt=0, description="an instance not heard from for this long leaves the fleet view"
    )

    # The LDAP directory (ARTSTORE_ADMIN_LDAP_*, admin_module/ldap/settings.py); off without URLs.
    ldap: LdapSettings = Field(default_factory=LdapSettings)

    @field_validator("fleet_secrets")
    @classmethod
    def _fleet_secrets_fit_bcrypt(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for client_id, secret in value.items():
            if len(secret.get_secret_value().encode()) > 72:
                raise ValueError(f"the secret of {client_id} is longer than 72 bytes (bcrypt's limit)")
        return value

    @model_validator(mode="after")
    def _key_encryption_key_is_real(self) -> Settings:
        if self.is_development:
            return self
        kek = self.kek()
        if is_placeholder(kek):
            raise ValueError(
                "key_encryption_key (or key_encryption_key_file) must be set to a real secret of "
                "at least 16 characters outside development"
            )
        for client_id, secret in self.fleet_secrets.items():
            if is_placeholder(secret.get_secret_value()):
                raise ValueError(f"fleet secret of {client_id} looks like a placeholder")
        return self

    def kek(self) -> str:
        """The key-encryption key: the setting, else the secret file, else the development value."""
        if self.key_encryption_key is not None:
            return self.key_encryption_key.get_secret_value()
        if self.key_encryption_key_file is not None:
            return self.key_encryption_key_file.read_text().strip()
        return DEVELOPMENT_KEK
