"""The token endpoint, refresh tokens, revocation, brute-force protection and password reset."""
