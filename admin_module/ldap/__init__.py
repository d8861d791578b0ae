"""The organisation's LDAP directory: live-bind logins, periodic sync, group-to-role mapping.

ArtStore reads the directory and never writes it. The package, by file:

- ``settings.py``   :class:`LdapSettings`, ``settings.ldap`` of the admin module (``ARTSTORE_ADMIN_LDAP_*``);
                    the directory is off while no URL is set.
- ``directory.py``  :class:`Directory`, the ldap3 client (worker threads, failover in URL order,
                    StartTLS/LDAPS): find a person with the service account, bind as them, read
                    their groups, list everyone under the users and dismissed bases.
- ``errors.py``     a person's mistake (:class:`InvalidCredentials` and kin) versus the directory's
                    failure (:class:`DirectoryUnavailable`, 503 ``temporarily_unavailable``).
- ``roles.py``      group-to-role mapping, the highest role wins.
- ``service.py``    the password grant's authenticator (``app.state.directory_authenticator``, the
                    seam in ``admin_module/auth/directory.py``) and the sync's changes to users.
- ``runner.py``     one sync run under a Postgres advisory lock, the scheduled loop, and the
                    lifespan wiring (authenticator, optional ``ldap`` readiness check, loop).
- ``router.py``, ``status.py``, ``schemas.py``   ``POST /api/v1/ldap/sync``, ``GET /api/v1/ldap/status``.

Policy worth knowing: people are matched by their uid; a LOCAL user keeps its name unless
``precedence`` is ``ldap``; an LDAP user the directory deactivated (dismissed, no mapped group,
gone) is not reactivated by the directory: an ADMIN sets it ACTIVE again. A sync that finds the
users or groups base missing, or would deactivate more than ``sync_max_deactivation_ratio`` of
the active LDAP users, changes nothing and says why; the directory never deactivates or demotes
the last ACTIVE ADMIN.
"""
