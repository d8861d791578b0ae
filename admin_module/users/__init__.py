"""Users: LOCAL accounts with bcrypt passwords (LDAP users are synced by the ldap package)."""
