"""Settings of the admin module, read from ``ARTSTORE_ADMIN_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from admin_module.ldap.settings import LdapSettings
from shared.settings import ServiceSettings, is_placeholder, is_weak_key

DEVELOPMENT_KEK = "dev-only-key-encryption-key-do-not-use"
FLEET_SECRET_MIN_BYTES = 32


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARTSTORE_ADMIN_", extra="ignore", validate_default=True)

    port: int = Field(8000, description="port to listen on")
    jwks_min_refresh_seconds: float = Field(
        1.0,
        description="at most one JWKS refetch per this many seconds on an unknown kid (the admin reads "
        "its own database, so refetching is cheap)",
    )
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/artstore_admin",
        description="SQLAlchemy URL of the admin's database (users, keys, service accounts, registry, audit)",
    )

    bootstrap_username: str = Field(
        "admin", description="username of the first ADMIN, created at start-up when no ADMIN exists"
    )
    bootstrap_password: SecretStr | None = Field(
        None,
        description="password of the first ADMIN; when empty one is generated and logged once. "
        "Never applied to an existing user",
    )
    bootstrap_password_file: Path | None = Field(
        None, description="file (mode 600) the generated bootstrap password is also written to"
    )
    fleet_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='JSON map of the fleet\'s own service accounts, {"<client_id>": "<secret>"}; '
        "these secrets do not expire (72 bytes at most; at least 32 outside development)",
    )

    key_encryption_key: SecretStr | None = Field(
        None,
        description="key that encrypts the JWT signing keys at rest (16 characters at least, "
        "required outside development)",
    )
    key_encryption_key_file: Path | None = Field(
        None, description="file holding the key-encryption key, read when key_encryption_key is empty"
    )
    key_rotation_days: float = Field(30.0, description="age (days) after which the signing key is rotated")
    key_rotation_check_seconds: float = Field(
        3600.0, description="how often the signing key's age is checked for rotation"
    )
    rsa_key_size: int = Field(2048, description="size in bits of new RSA signing keys")

    # Tokens.
    access_token_lifetime_seconds: int = Field(1800, description="lifetime of an access token (s)")
    refresh_token_lifetime_seconds: int = Field(
        7 * 24 * 3600, description="lifetime of a user's refresh token (s)"
    )

    # Passwords, lockout, brute force.
    bcrypt_rounds: int = Field(
        default=12, ge=4, le=16, description="bcrypt cost factor of password and secret hashes"
    )
    password_min_length: int = Field(
        default=12, ge=8, description="minimum length of a local user's password (characters)"
    )
    password_history: int = Field(
        default=5, ge=1, description="a new password may not repeat any of this many previous ones"
    )
    lockout_threshold: int = Field(
        5, description="failed logins inside the lockout window that lock a local account"
    )
    lockout_window_seconds: int = Field(15 * 60, description="window in which failed logins are counted (s)")
    lockout_duration_seconds: int = Field(15 * 60, description="how long a locked account stays locked (s)")
    rate_limit_window_seconds: int = Field(60, description="window of the token endpoint's rate limits (s)")
    rate_limit_per_ip: int = Field(
        60, description="token requests allowed per client IP and window; beyond, 429 with Retry-After"
    )
    rate_limit_per_username: int = Field(
        20, description="token requests allowed per username (or client_id) and window; beyond, 429"
    )
    service_secret_lifetime_days: int = Field(
        365, description="days until a service account's secret expires (the fleet's own never expire)"
    )

    # Password reset by mail.
    password_reset_lifetime_seconds: int = Field(
        15 * 60, description="how long a password-reset link stays valid (s)"
    )
    password_reset_url: str = Field(
        "http://127.0.0.1:4200/reset-password",
        description="page of the admin UI that reset mails link to (the token is added as ?token=)",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server of outgoing mail; when empty no mail is sent (it is logged)"
    )
    smtp_port: int = Field(25, description="port of the SMTP server")
    smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        "none", description="none, starttls (upgrade a plain connection) or ssl (TLS from the start)"
    )
    smtp_username: str | None = Field(None, description="SMTP login; empty = no authentication")
    smtp_password: SecretStr | None = Field(None, description="SMTP password, used with smtp_username")
    smtp_sender: str = Field("artstore@localhost", description="From address of outgoing mail")
    smtp_timeout: float = Field(10.0, description="timeout of the SMTP connection and commands (s)")

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

    ldap: LdapSettings = Field(
        default_factory=LdapSettings,
        description="the LDAP directory (ARTSTORE_ADMIN_LDAP_*, below); off without URLs",
    )

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
        if is_weak_key(kek):  # from the setting or from the secret file
            raise ValueError(
                "key_encryption_key (or key_encryption_key_file) must be set to a real secret of "
                "at least 16 characters outside development"
            )
        for client_id, secret in self.fleet_secrets.items():
            if is_placeholder(secret.get_secret_value()):
                raise ValueError(f"fleet secret of {client_id} looks like a placeholder")
            if len(secret.get_secret_value().encode()) < FLEET_SECRET_MIN_BYTES:
                # As strong as the secrets the admin generates for service accounts (32 random bytes).
                raise ValueError(
                    f"the fleet secret of {client_id} is shorter than {FLEET_SECRET_MIN_BYTES} bytes; "
                    "generate one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
        return self

    def kek(self) -> str:
        """The key-encryption key: the setting, else the secret file, else the development value."""
        if self.key_encryption_key is not None:
            return self.key_encryption_key.get_secret_value()
        if self.key_encryption_key_file is not None:
            return self.key_encryption_key_file.read_text().strip()
        return DEVELOPMENT_KEK
