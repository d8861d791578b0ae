"""A real slapd loaded from ``.ldap/`` for the directory tests, and helpers to change it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server

from admin_module.ldap.settings import LdapSettings
from tests.admin_module.conftest import Admin, admin_settings, running_admin
from tests.support import servers
from tests.support.smtp import Mailbox

BASE = "dc=artstore,dc=local"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{BASE}", "admin"
READONLY_PASSWORD = "readonly-artstore-bind"
USERS, DISMISSED, GROUPS = f"ou=users,{BASE}", f"ou=dismissed,{BASE}", f"ou=Groups,{BASE}"


def ldap_settings(*urls: str, **values: object) -> LdapSettings:
    values.setdefault("bind_password", READONLY_PASSWORD)
    return LdapSettings(urls=list(urls), **values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shared_slapd() -> Iterator[servers.Managed]:
    """One slapd for tests that only read the directory."""
    server = servers.start_slapd()
    yield server
    server.stop()


@pytest.fixture
def slapd() -> Iterator[servers.Managed]:
    """A slapd of this test's own (~0.2 s): change it or stop it at will."""
    server = servers.start_slapd()
    yield server
    server.stop()


class DirectoryAdmin:
    """What the organisation's admins do to the directory, as the root DN."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _conn(self) -> Connection:
        return Connection(Server(self.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True, raise_exceptions=True)

    def dismiss(self, uid: str) -> None:
        conn = self._conn()
        try:
            conn.modify_dn(f"uid={uid},{USERS}", f"uid={uid}", new_superior=DISMISSED)
        finally:
            conn.unbind()

    def rename(self, dn: str, new_rdn: str) -> None:
        """Rename an entry in place (a whole subtree for an OU, as a directory admin might)."""
        conn = self._conn()
        try:
            conn.modify_dn(dn, new_rdn)
        finally:
            conn.unbind()

    def add_to_group(self, uid: str, group: str) -> None:
        self._change_member(group, MODIFY_ADD, uid)

    def remove_from_group(self, uid: str, group: str) -> None:
        self._change_member(group, MODIFY_DELETE, uid)

    def _change_member(self, group: str, operation: str, uid: str) -> None:
        conn = self._conn()
        try:
            conn.modify(f"cn={group},{GROUPS}", {"member": [(operation, [f"uid={uid},{USERS}"])]})
        finally:
            conn.unbind()

    def add_user(self, uid: str, password: str, *, given: str = "New", sn: str = "Person") -> str:
        dn = f"uid={uid},{USERS}"
        conn = self._conn()
        try:
            conn.add(
                dn,
                ["inetOrgPerson"],
                {
                    "uid": uid,
                    "cn": f"{given} {sn}",
                    "givenName": given,
                    "sn": sn,
                    "mail": f"{uid}@artstore.local",
                    "userPassword": password,
                },
            )
        finally:
            conn.unbind()
        return dn

    def delete(self, dn: str) -> None:
        conn = self._conn()
        try:
            conn.delete(dn)
        finally:
            conn.unbind()


# ---------------------------------------------------------------- the admin module with LDAP


@pytest.fixture
async def ldap_admin(
    database_url: str, redis_url: str, slapd: servers.Managed, mailbox: Mailbox
) -> AsyncIterator[Admin]:
    """The admin module (real Postgres, Redis, SMTP) with the test's own slapd as its directory."""
    settings = admin_settings(
        database_url,
        redis_url,
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        ldap=ldap_settings(slapd.url, connect_timeout=1, operation_timeout=2),
    )
    async with running_admin(settings) as running:
        yield running


@pytest.fixture
def directory_admin(slapd: servers.Managed) -> DirectoryAdmin:
    return DirectoryAdmin(slapd.url)
