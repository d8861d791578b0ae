"""``.ldap/`` loads the way osixia/openldap (docker-compose) loads it, on a cn=config slapd.

That image creates the root itself, then applies every ``*.ldif`` under its custom folder,
sub-folders included, in path order: ``ldapmodify -Y EXTERNAL`` for files with a
``changetype``, ``ldapadd`` as the admin otherwise, and stops at the first failure. Its data
database starts readable by everybody; ``acl/olc-access.ldif`` must close that.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from ldap3 import Connection, Server

from admin_module.ldap.directory import Directory
from admin_module.ldap.roles import role_for
from tests.admin_module.ldap.conftest import (
    BASE,
    READONLY_PASSWORD,
    ROOT_DN,
    ROOT_PASSWORD,
    USERS,
    ldap_settings,
)
from tests.support import servers

LDAP_DIR = servers.REPO / ".ldap"
PEERCRED_ROOT = "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"


def _image_like_config(slapd_conf: str, db_dir: Path) -> str:
    """Our slapd.conf with the image's defaults: a config database the local root manages,
    and a data database readable by everybody (our ACLs removed)."""
    conf = slapd_conf.replace("@DB_DIR@", str(db_dir))
    conf = conf[: conf.index("# Passwords serve binds only")] + "access to * by * read\n"
    config_db = f'database config\naccess to * by dn.exact="{PEERCRED_ROOT}" manage by * break\n\n'
    return conf.replace("database    mdb", config_db + "database    mdb", 1)


@pytest.fixture
def config_slapd(tmp_path: Path) -> Iterator[tuple[str, str]]:
    (tmp_path / "db").mkdir()
    (tmp_path / "slapd.d").mkdir()
    conf = tmp_path / "slapd.conf"
    conf.write_text(_image_like_config((LDAP_DIR / "slapd.conf").read_text(), tmp_path / "db"))
    port = servers.free_port()
    url, ldapi = f"ldap://127.0.0.1:{port}", "ldapi://" + quote(str(tmp_path / "ldapi"), safe="")
    with open(tmp_path / "log", "wb") as log:
        process = subprocess.Popen(
            [
                *("/usr/sbin/slapd", "-f", str(conf), "-F", str(tmp_path / "slapd.d")),
                *("-h", f"{url}/ {ldapi}", "-d", "0"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        servers.wait_for(lambda: process.poll() is None and servers.port_open("127.0.0.1", port), 10, "slapd")
        yield url, ldapi
    finally:
        process.terminate()
        process.wait(10)


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{args[0]} {args[-1]}: {result.stderr}"


def test_ldif_files_load_like_osixia_and_lock_passwords_away(config_slapd: tuple[str, str]) -> None:
    url, ldapi = config_slapd
    admin = ("-x", "-H", url, "-D", ROOT_DN, "-w", ROOT_PASSWORD)
    _run("ldapadd", *admin, "-f", str(LDAP_DIR / "root.ldif.in"))  # the image makes the root itself
    files = sorted(LDAP_DIR.rglob("*.ldif"))
    assert LDAP_DIR / "acl" / "olc-access.ldif" in files
    for ldif in files:
        if "changetype" in ldif.read_text().lower():
            _run("ldapmodify", "-Y", "EXTERNAL", "-Q", "-H", ldapi, "-f", str(ldif))
        else:
            _run("ldapadd", *admin, "-f", str(ldif))

    conn = Connection(Server(url), f"cn=readonly,{BASE}", READONLY_PASSWORD, auto_bind=True)
    try:
        conn.search(USERS, "(uid=*)", attributes=["uid", "userPassword"])
        assert sorted(e.uid.value for e in conn.entries) == ["ivanov", "petrov", "sidorov"]
        assert not any(e.entry_attributes_as_dict.get("userPassword") for e in conn.entries)
    finally:
        conn.unbind()


async def test_the_directory_client_works_on_the_image_like_server(config_slapd: tuple[str, str]) -> None:
    url, ldapi = config_slapd
    admin = ("-x", "-H", url, "-D", ROOT_DN, "-w", ROOT_PASSWORD)
    _run("ldapadd", *admin, "-f", str(LDAP_DIR / "root.ldif.in"))
    for ldif in sorted(LDAP_DIR.glob("*.ldif")):
        _run("ldapadd", *admin, "-f", str(ldif))
    _run("ldapmodify", "-Y", "EXTERNAL", "-Q", "-H", ldapi, "-f", str(LDAP_DIR / "acl" / "olc-access.ldif"))
    directory = Directory(ldap_settings(url))
    user = await directory.authenticate("ivanov", "test123")
    assert role_for(user.groups, directory.settings.group_roles) == "ADMIN"
