"""Signed download links: HMAC over file, principal and expiry; secrets from settings."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr, ValidationError

from query_module.downloads import links
from query_module.errors import InvalidLink, LinksNotConfigured
from query_module.settings import Settings
from shared.auth import Principal

ALICE = Principal(subject="u-1", username="alice", kind="user", role="USER", scopes=frozenset({"files:read"}))
SECRET = b"Query-Link-Unit-Key-31f0a9"


def test_a_link_names_its_file_principal_and_expiry() -> None:
    token = links.sign(SECRET, "file-1", ALICE, int(time.time()) + 60)
    principal = links.verify(SECRET, token, "file-1")
    assert (principal.subject, principal.username, principal.role) == ("u-1", "alice", "USER")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # signature altered
        lambda t: (
            links._b64(b'{"e":9999999999,"f":"file-1","k":"user","r":"ADMIN","s":"u-1","u":"x"}')
            + "."
            + t.split(".")[1]
        ),  # payload altered (role raised, expiry pushed)
        lambda t: "not-a-link",
    ],
)
def test_altered_links_are_refused(mutate: object) -> None:
    token = links.sign(SECRET, "file-1", ALICE, int(time.time()) + 60)
    with pytest.raises(InvalidLink):
        links.verify(SECRET, mutate(token), "file-1")  # type: ignore[operator]


def test_expired_links_wrong_files_and_other_secrets_are_refused() -> None:
    expired = links.sign(SECRET, "file-1", ALICE, int(time.time()) - 1)
    with pytest.raises(InvalidLink, match="expired"):
        links.verify(SECRET, expired, "file-1")
    valid = links.sign(SECRET, "file-1", ALICE, int(time.time()) + 60)
    with pytest.raises(InvalidLink):
        links.verify(SECRET, valid, "file-2")
    with pytest.raises(InvalidLink):
        links.verify(b"another-secret-entirely-xyz", valid, "file-1")


def test_placeholder_secret_refused_outside_development_and_missing_secret_disables_links() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(env="production", link_secret=SecretStr("change-me"))
    Settings(env="development", link_secret=SecretStr("change-me"))  # accepted in development
    with pytest.raises(LinksNotConfigured):
        links.secret_of(Settings(env="production"))
    assert links.secret_of(Settings(env="development")) == links.DEVELOPMENT_SECRET.encode()
    assert links.secret_of(Settings(env="test", link_secret=SecretStr(SECRET.decode()))) == SECRET
