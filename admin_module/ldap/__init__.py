"""The organisation's LDAP directory: live-bind logins, periodic sync, group-to-role mapping.

ArtStore reads the directory and never writes it. API of this package:
:class:`~admin_module.ldap.settings.LdapSettings` (embedded in the admin settings),
:class:`~admin_module.ldap.directory.Directory` (the client) and its errors in
:mod:`admin_module.ldap.errors`.
"""
