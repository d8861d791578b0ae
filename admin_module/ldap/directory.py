"""The directory client: ldap3 in worker threads, never on the event loop (STYLE.md habit 11).

Every operation opens its own connection (servers tried in configured order, first that
answers wins), does its work and unbinds, so no socket outlives a call and a failover is
just the next call. Passwords are used for one bind and never kept.

Errors: :class:`~admin_module.ldap.errors.InvalidCredentials` (and subclasses) for a
person's mistake, :class:`~admin_module.ldap.errors.DirectoryUnavailable` when no server
answers or the service account is refused.
"""

from __future__ import annotations

import logging
import math
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
from ldap3 import NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from admin_module.ldap.dn import is_under, normalize_dn
from admin_module.ldap.errors import (
    AccountDismissed,
    DirectoryUnavailable,
    InvalidCredentials,
    MissingBase,
    NotInDirectory,
)
from admin_module.ldap.settings import LdapSettings

log = logging.getLogger("artstore.admin.ldap")

T = TypeVar("T")

# Bind results that mean "this person may not bind", as opposed to "the server has a problem":
# inappropriateAuthentication, invalidCredentials, insufficientAccessRights, unwillingToPerform.
REFUSED_BIND_RESULTS = frozenset({48, 49, 50, 53})
NO_SUCH_OBJECT = 32
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
PAGE_SIZE = 500


@dataclass(frozen=True)
class DirectoryUser:
    dn: str
    username: str
    email: str | None
    given_name: str | None
    surname: str | None
    full_name: str | None
    groups: tuple[tuple[str, str], ...]  # (group DN, group cn)
    dismissed: bool


@dataclass(frozen=True)
class DirectorySnapshot:
    """Everyone under the users base (``active``) and under the dismissed base."""

    active: list[DirectoryUser]
    dismissed: list[DirectoryUser]


@dataclass
class ConnectionState:
    """What the last operation learned about the directory, for status and readiness."""

    reachable: bool | None = None
    server: str | None = None
    error: str | None = None
    checked_at: float | None = None


class _BindRefused(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code


@dataclass
class Directory:
    settings: LdapSettings
    state: ConnectionState = field(default_factory=ConnectionState)

    # ------------------------------------------------------------------ async API

    async def authenticate(self, username: str, password: str) -> DirectoryUser:
        """Find ``username`` with the service account, then bind as that entry with ``password``."""
        if not password:
            # ldap3 refuses an empty password, and a directory may treat it as an anonymous
            # bind that "succeeds": refuse before any bind.
            raise InvalidCredentials("a password is required")
        if not username.strip():
            raise InvalidCredentials("a username is required")
        return await self._run(lambda: self._authenticate(username.strip(), password))

    async def find_user(self, username: str) -> DirectoryUser | None:
        """The entry for ``username`` (active or dismissed), or None."""
        return await self._run(lambda: self._find_user(username.strip()))

    async def snapshot(self) -> DirectorySnapshot:
        """Every person under the users and dismissed bases, with their groups."""
        return await self._run(self._snapshot)

    async def ping(self) -> None:
        """Bind as the service account; raises :class:`DirectoryUnavailable` when that fails."""
        await self._run(self._ping)

    async def _run(self, work: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(work)

    # ------------------------------------------------------------------ in a worker thread

    def _authenticate(self, username: str, password: str) -> DirectoryUser:
        with self._service() as (conn, server):
            user = self._lookup(conn, username)
            if user is None:
                raise NotInDirectory("unknown user or wrong password")
            if user.dismissed:
                raise AccountDismissed("this directory account is dismissed")
        try:
            _discard(self._connect(server, user.dn, password))
        except _BindRefused as exc:
            raise InvalidCredentials("unknown user or wrong password") from exc
        return user

    def _find_user(self, username: str) -> DirectoryUser | None:
        with self._service() as (conn, _):
            return self._lookup(conn, username)

    def _snapshot(self) -> DirectorySnapshot:
        s = self.settings
        with self._service() as (conn, _):
            # A users or groups base that is not there (a typo, a renamed OU, an ACL hiding it)
            # must not read as "nobody": the sync would deactivate everyone.
            groups = self._all_groups(conn)
            user_filter = f"(&{s.user_filter}({s.attr_uid}=*))"
            people = self._search(conn, s.users_base, user_filter, must_exist=True)
            active = [self._user(e, groups) for e in people]
            dismissed = [self._user(e, groups) for e in self._search(conn, s.dismissed_base, user_filter)]
        return DirectorySnapshot(
            active=[u for u in active if not u.dismissed],
            dismissed=dismissed + [u for u in active if u.dismissed],
        )

    def _ping(self) -> None:
        with self._service():
            return

    def _lookup(self, conn: Connection, username: str) -> DirectoryUser | None:
        s = self.settings
        query = f"(&{s.user_filter}({s.attr_uid}={escape_filter_chars(username)}))"
        for base in (s.users_base, s.dismissed_base):
            entries = self._search(conn, base, query)
            if len(entries) > 1:
                log.warning("ldap_ambiguous_login", extra={"username": username, "base": base})
                raise InvalidCredentials("this login matches several directory entries")
            if entries:
                return self._user(entries[0], self._groups_of(conn, entries[0]["dn"]))
        return None

    def _groups_of(self, conn: Connection, dn: str) -> dict[str, tuple[str, frozenset[str]]]:
        s = self.settings
        query = f"(&{s.group_filter}({s.group_member_attr}={escape_filter_chars(dn)}))"
        return self._group_map(self._search(conn, s.groups_base, query, attributes=[s.attr_cn]), dn)

    def _all_groups(self, conn: Connection) -> dict[str, tuple[str, frozenset[str]]]:
        s = self.settings
        attributes = [s.attr_cn, s.group_member_attr]
        entries = self._search(conn, s.groups_base, s.group_filter, attributes=attributes, must_exist=True)
        return self._group_map(entries, None)

    def _group_map(
        self, entries: list[dict[str, Any]], member: str | None
    ) -> dict[str, tuple[str, frozenset[str]]]:
        """Group DN -> (cn, normalised member DNs)."""
        s = self.settings
        groups = {}
        for entry in entries:
            attrs = entry["attributes"]
            members = {member} if member else set(_values(attrs, s.group_member_attr))
            cn = _first(attrs, s.attr_cn) or entry["dn"]
            groups[entry["dn"]] = (cn, frozenset(normalize_dn(m) for m in members))
        return groups

    def _user(self, entry: dict[str, Any], groups: dict[str, tuple[str, frozenset[str]]]) -> DirectoryUser:
        s = self.settings
        attrs, dn = entry["attributes"], entry["dn"]
        key = normalize_dn(dn)
        return DirectoryUser(
            dn=dn,
            username=(_first(attrs, s.attr_uid) or "").strip(),
            email=_first(attrs, s.attr_mail),
            given_name=_first(attrs, s.attr_given_name),
            surname=_first(attrs, s.attr_sn),
            full_name=_first(attrs, s.attr_cn),
            groups=tuple(sorted((gdn, cn) for gdn, (cn, members) in groups.items() if key in members)),
            dismissed=is_under(dn, s.dismissed_base),
        )

    def _search(
        self,
        conn: Connection,
        base: str,
        query: str,
        *,
        attributes: list[str] | None = None,
        must_exist: bool = False,
    ) -> list[dict[str, Any]]:
        """Every entry under ``base`` matching ``query``; a missing base holds nobody unless
        ``must_exist``, then it raises :class:`MissingBase`."""
        s = self.settings
        attrs = attributes or [s.attr_uid, s.attr_mail, s.attr_given_name, s.attr_sn, s.attr_cn]
        found: list[dict[str, Any]] = []
        cookie: bytes | None = None
        while True:
            conn.search(
                base,
                query,
                search_scope=SUBTREE,
                attributes=attrs,
                paged_size=PAGE_SIZE,
                paged_cookie=cookie,
                time_limit=max(1, int(s.operation_timeout)),
            )
            code = conn.result.get("result")
            if code == NO_SUCH_OBJECT and must_exist:
                raise MissingBase(f"the directory has no readable entry {base}")
            if code == NO_SUCH_OBJECT:
                return found  # a base that does not exist (yet) holds nobody
            if code != 0:
                raise DirectoryUnavailable(f"search under {base} failed: {conn.result.get('description')}")
            found.extend(e for e in conn.response or [] if e.get("type") == "searchResEntry")
            control = conn.result.get("controls", {}).get(PAGED_RESULTS_OID, {})
            cookie = control.get("value", {}).get("cookie") or None
            if not cookie:
                return found

    # ------------------------------------------------------------------ connections

    @contextmanager
    def _service(self) -> Iterator[tuple[Connection, Server]]:
        """A connection bound as the service account (anonymous without a bind DN), on the first
        server that answers."""
        s = self.settings
        password = s.bind_password.get_secret_value()
        if s.bind_dn and not password:
            self._record(False, None, "no service account password")
            raise DirectoryUnavailable(
                f"no password is configured for the service account {s.bind_dn} "
                "(ARTSTORE_ADMIN_LDAP_BIND_PASSWORD)"
            )
        errors: list[str] = []
        for server in self._servers():
            try:
                conn = self._connect(server, s.bind_dn or None, password or None)
            except _BindRefused as exc:
                self._record(False, server, f"service account refused: {exc}")
                raise DirectoryUnavailable(
                    f"the directory refused the service account {s.bind_dn} ({exc})"
                ) from exc
            except DirectoryUnavailable as exc:
                errors.append(f"{_url(server)}: {exc.detail}")
                continue
            try:
                yield conn, server
            except LDAPException as exc:
                self._record(False, server, f"{type(exc).__name__}: {exc}")
                raise DirectoryUnavailable(f"the directory stopped answering: {exc}") from exc
            finally:
                _discard(conn)
            self._record(True, server, None)
            return
        detail = "; ".join(errors) or "no LDAP URL is configured"
        self._record(False, None, detail)
        raise DirectoryUnavailable(f"no directory server answered ({detail})")

    def _connect(self, server: Server, user: str | None, password: str | None) -> Connection:
        s = self.settings
        conn = Connection(
            server,
            user=user,
            password=password,
            read_only=True,
            receive_timeout=max(1, math.ceil(s.operation_timeout)),  # ldap3 packs it as an integer
            raise_exceptions=False,
            auto_referrals=False,
        )
        try:
            conn.open()
            if s.start_tls and not server.ssl and not conn.start_tls():
                raise DirectoryUnavailable(f"StartTLS refused: {conn.result.get('description')}")
            bound = conn.bind()
        except LDAPException as exc:
            _discard(conn)
            raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except DirectoryUnavailable:
            _discard(conn)
            raise
        if bound:
            return conn
        code, description = conn.result.get("result"), str(conn.result.get("description"))
        _discard(conn)
        if code in REFUSED_BIND_RESULTS:
            raise _BindRefused(int(code), description)
        raise DirectoryUnavailable(f"bind failed: {description}")

    def _servers(self) -> list[Server]:
        s = self.settings
        tls = None
        if s.start_tls or s.ca_file or any(u.lower().startswith("ldaps://") for u in s.urls):
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=s.ca_file)
        return [Server(url, connect_timeout=s.connect_timeout, get_info=NONE, tls=tls) for url in s.urls]

    def _record(self, reachable: bool, server: Server | None, error: str | None) -> None:
        self.state = ConnectionState(reachable, _url(server) if server else None, error, time.time())


def _discard(conn: Connection) -> None:
    """Unbind and close; ldap3 leaves the socket of a failed open() unclosed, so close it too."""
    with suppress(LDAPException, OSError):
        conn.unbind()
    if conn.socket is not None:
        with suppress(OSError):
            conn.socket.close()


def _url(server: Server) -> str:
    return f"{'ldaps' if server.ssl else 'ldap'}://{server.host}:{server.port}"


def _values(attrs: Any, name: str) -> list[str]:
    raw = attrs.get(name) if attrs else None
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    return [v.decode() if isinstance(v, bytes) else str(v) for v in items]


def _first(attrs: Any, name: str) -> str | None:
    values = _values(attrs, name)
    return values[0] if values else None
