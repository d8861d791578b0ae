"""The directory client against a real slapd loaded from ``.ldap/``."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from ldap3 import Connection, Server

from admin_module.ldap.directory import Directory
from admin_module.ldap.errors import (
    AccountDismissed,
    DirectoryUnavailable,
    InvalidCredentials,
    NotInDirectory,
)
from admin_module.ldap.roles import role_for
from tests.admin_module.ldap.conftest import (
    BASE,
    READONLY_PASSWORD,
    USERS,
    DirectoryAdmin,
    ldap_settings,
)
from tests.support import servers

DEAD_URL = f"ldap://127.0.0.1:{servers.free_port()}"


@pytest.mark.parametrize(
    ("login", "role"), [("ivanov", "ADMIN"), ("petrov", "OPERATOR"), ("sidorov", "USER")]
)
async def test_test_users_log_in_with_their_roles(
    shared_slapd: servers.Managed, login: str, role: str
) -> None:
    directory = Directory(ldap_settings(shared_slapd.url))
    user = await directory.authenticate(login, "test123")
    assert user.username == login
    assert user.dn == f"uid={login},{USERS}"
    assert user.email == f"{login}@artstore.local"
    assert user.full_name and user.given_name and user.surname
    assert not user.dismissed
    assert role_for(user.groups, directory.settings.group_roles) == role


async def test_wrong_password_is_refused(shared_slapd: servers.Managed) -> None:
    directory = Directory(ldap_settings(shared_slapd.url))
    with pytest.raises(InvalidCredentials) as caught:
        await directory.authenticate("petrov", "wrong")
    assert not isinstance(caught.value, NotInDirectory)
    assert caught.value.status == 400


async def test_empty_password_is_refused_before_any_bind() -> None:
    # No server answers at this URL: an attempt to bind would raise DirectoryUnavailable.
    directory = Directory(ldap_settings(DEAD_URL))
    for password in ("", None):
        with pytest.raises(InvalidCredentials, match="password is required"):
            await directory.authenticate("ivanov", password or "")
    assert directory.state.checked_at is None


async def test_unknown_login_and_filter_injection(shared_slapd: servers.Managed) -> None:
    directory = Directory(ldap_settings(shared_slapd.url))
    for login in ("nobody", "*", "ivanov)(uid=*", "iva*"):
        with pytest.raises(NotInDirectory):
            await directory.authenticate(login, "test123")
    assert await directory.find_user("*") is None
    found = await directory.find_user("IVANOV")
    assert found is not None and found.username == "ivanov"


async def test_service_account_cannot_read_passwords(shared_slapd: servers.Managed) -> None:
    conn = Connection(Server(shared_slapd.url), f"cn=readonly,{BASE}", READONLY_PASSWORD, auto_bind=True)
    try:
        conn.search(USERS, "(uid=ivanov)", attributes=["uid", "userPassword"])
        [entry] = conn.entries
        assert entry.uid.value == "ivanov"
        assert not entry.entry_attributes_as_dict.get("userPassword")  # requested, not returned
        conn.search(USERS, "(userPassword=*)", attributes=["uid"])
        assert conn.entries == []
    finally:
        conn.unbind()


async def test_dismissed_entry_is_refused_even_while_still_in_its_group(slapd: servers.Managed) -> None:
    DirectoryAdmin(slapd.url).dismiss("sidorov")
    directory = Directory(ldap_settings(slapd.url))
    with pytest.raises(AccountDismissed):
        await directory.authenticate("sidorov", "test123")
    found = await directory.find_user("sidorov")
    assert found is not None and found.dismissed
    snapshot = await directory.snapshot()
    assert [u.username for u in snapshot.active] == ["ivanov", "petrov"]
    assert [u.username for u in snapshot.dismissed] == ["sidorov"]


async def test_highest_role_wins_after_a_group_change(slapd: servers.Managed) -> None:
    DirectoryAdmin(slapd.url).add_to_group("petrov", "artstore-admins")
    directory = Directory(ldap_settings(slapd.url))
    user = await directory.authenticate("petrov", "test123")
    assert {cn for _, cn in user.groups} == {"artstore-admins", "artstore-operators"}
    assert role_for(user.groups, directory.settings.group_roles) == "ADMIN"
    snapshot = await directory.snapshot()
    petrov = next(u for u in snapshot.active if u.username == "petrov")
    assert role_for(petrov.groups, directory.settings.group_roles) == "ADMIN"


async def test_person_without_a_mapped_group_has_no_role(slapd: servers.Managed) -> None:
    DirectoryAdmin(slapd.url).add_user("kuznetsov", "pass-kuz-1")
    directory = Directory(ldap_settings(slapd.url))
    user = await directory.authenticate("kuznetsov", "pass-kuz-1")
    assert user.groups == ()
    assert role_for(user.groups, directory.settings.group_roles) is None


async def test_failover_to_the_next_url_in_order(shared_slapd: servers.Managed) -> None:
    directory = Directory(ldap_settings(DEAD_URL, shared_slapd.url, connect_timeout=1))
    user = await directory.authenticate("ivanov", "test123")
    assert user.username == "ivanov"
    assert directory.state.reachable is True
    assert directory.state.server == shared_slapd.url


async def test_unreachable_directory_is_not_bad_credentials(slapd: servers.Managed) -> None:
    directory = Directory(ldap_settings(slapd.url, connect_timeout=1, operation_timeout=2))
    await directory.ping()
    slapd.stop()
    with pytest.raises(DirectoryUnavailable) as caught:
        await directory.authenticate("ivanov", "test123")
    assert caught.value.status == 503
    assert caught.value.code == "temporarily_unavailable"
    with pytest.raises(DirectoryUnavailable):
        await directory.ping()
    with pytest.raises(DirectoryUnavailable):
        await directory.snapshot()
    assert directory.state.reachable is False
    assert directory.state.error


async def test_refused_service_account_is_an_outage_not_a_user_error(shared_slapd: servers.Managed) -> None:
    directory = Directory(ldap_settings(shared_slapd.url, bind_password="not-the-readonly-password"))
    with pytest.raises(DirectoryUnavailable, match="service account"):
        await directory.authenticate("ivanov", "test123")


# ---------------------------------------------------------------- TLS


def _write_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1, as files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ArtStore test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


async def test_starttls_and_ldaps_verify_the_server_with_the_ca_file(tmp_path: Path) -> None:
    ca, cert, key = _write_pki(tmp_path)
    ldaps_port = servers.free_port()
    server = servers.start_slapd(tls=(cert, key), ldaps_port=ldaps_port)
    try:
        starttls = Directory(ldap_settings(server.url, start_tls=True, ca_file=str(ca)))
        assert (await starttls.authenticate("ivanov", "test123")).username == "ivanov"
        ldaps_url = f"ldaps://127.0.0.1:{ldaps_port}"
        ldaps = Directory(ldap_settings(ldaps_url, ca_file=str(ca)))
        assert (await ldaps.authenticate("petrov", "test123")).username == "petrov"
        assert ldaps.state.server == ldaps_url
        # Without our CA the certificate is not trusted: an outage, never a plain-text fallback.
        untrusted = Directory(ldap_settings(ldaps_url, connect_timeout=2))
        with pytest.raises(DirectoryUnavailable):
            await untrusted.authenticate("petrov", "test123")
    finally:
        server.stop()


async def test_a_missing_service_password_is_named_in_the_error(shared_slapd: servers.Managed) -> None:
    directory = Directory(ldap_settings(shared_slapd.url, bind_password=""))
    with pytest.raises(DirectoryUnavailable, match="ARTSTORE_ADMIN_LDAP_BIND_PASSWORD"):
        await directory.ping()
    anonymous = Directory(ldap_settings(shared_slapd.url, bind_dn="", bind_password=""))
    with pytest.raises(DirectoryUnavailable, match="refused"):
        await anonymous.ping()  # this directory refuses anonymous binds
