"""Service accounts: OAuth2 clients of the fleet and of integrations (client credentials)."""
