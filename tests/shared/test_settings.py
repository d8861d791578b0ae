"""Placeholder secrets are refused outside development; real ones are accepted whatever they
look like. Keys the fleet generates (link secret, key-encryption key, fleet secrets) must
also be long enough; passwords people choose (SMTP, bootstrap, service clients) need not be."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from admin_module.settings import Settings as AdminSettings
from query_module.settings import Settings as QuerySettings
from shared.settings import ServiceSettings, is_placeholder, is_weak_key

REAL_KEK = "Xq3v9LmP0sT7wYb2Rk5nJd8HfG1cZe4A"
PLACEHOLDERS = [
    "",
    "   ",
    "change-me",
    "CHANGEME-now",
    "please_change_me",
    "placeholder",
    "dev-only-key-encryption-key-do-not-use",
    "dev-password",
    "example-password-for-the-docs",
]


class ClientSettings(ServiceSettings):
    service_client_secret: SecretStr = SecretStr("")


def admin(**values: object) -> AdminSettings:
    return AdminSettings(env="production", key_encryption_key=SecretStr(REAL_KEK), **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", PLACEHOLDERS)
def test_placeholders_are_recognised(value: str) -> None:
    assert is_placeholder(value)
    assert is_weak_key(value)


@pytest.mark.parametrize("value", ["Tr0ub4dor&3x", "mysecretpassword", "s3cr3t-Pa55", "devops-Hunter2"])
def test_real_passwords_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


def test_a_short_generated_key_is_weak_and_a_long_random_one_is_not() -> None:
    assert is_weak_key("Zr8kQ2mW9xLp")  # 12 characters
    assert not is_weak_key(REAL_KEK)


@pytest.mark.parametrize("value", [v for v in PLACEHOLDERS if v.strip()])
def test_a_placeholder_secret_is_refused_in_production(value: str) -> None:
    with pytest.raises(ValidationError, match="service_client_secret looks like a placeholder"):
        ClientSettings(env="production", service_client_secret=SecretStr(value))
    with pytest.raises(ValidationError, match="smtp_password looks like a placeholder"):
        admin(smtp_password=SecretStr(value))


@pytest.mark.parametrize("env", ["production", "test"])
def test_short_real_passwords_are_accepted_outside_development(env: str) -> None:
    settings = AdminSettings(
        env=env,  # type: ignore[arg-type]
        key_encryption_key=SecretStr(REAL_KEK),
        smtp_password=SecretStr("Mail-Pa55wd!"),  # 12 characters
        bootstrap_password=SecretStr("Boot-strap-2026"),  # 15 characters
    )
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "Mail-Pa55wd!"
    assert settings.bootstrap_password is not None
    assert settings.bootstrap_password.get_secret_value() == "Boot-strap-2026"
    client = ClientSettings(env=env, service_client_secret=SecretStr("my-secret-42"))  # type: ignore[arg-type]
    assert client.service_client_secret.get_secret_value() == "my-secret-42"


def test_generated_keys_must_be_long_enough_outside_development() -> None:
    with pytest.raises(ValidationError, match="link_secret is shorter than 16 characters"):
        QuerySettings(env="production", link_secret=SecretStr("Zr8kQ2mW9xLp"))
    with pytest.raises(ValidationError, match=r"fleet_secrets\[svc-query\] is shorter than 16"):
        admin(fleet_secrets={"svc-query": SecretStr("Zr8kQ2mW9xLp")})
    with pytest.raises(ValidationError, match=r"fleet_secrets\[svc-query\] looks like a placeholder"):
        admin(fleet_secrets={"svc-query": SecretStr("changeme-0123456789")})
    accepted = QuerySettings(env="production", link_secret=SecretStr(REAL_KEK))
    assert accepted.link_secret.get_secret_value() == REAL_KEK
    assert admin(fleet_secrets={"svc-query": SecretStr(REAL_KEK)}).fleet_secrets["svc-query"]


def test_development_accepts_placeholders_and_short_keys() -> None:
    settings = QuerySettings(env="development", link_secret=SecretStr("change-me"))
    assert settings.link_secret.get_secret_value() == "change-me"
    client = ClientSettings(env="development", service_client_secret=SecretStr("dev-secret"))
    assert client.service_client_secret.get_secret_value() == "dev-secret"


def test_an_empty_optional_secret_means_not_configured() -> None:
    settings = QuerySettings(env="production")
    assert settings.link_secret.get_secret_value() == ""
