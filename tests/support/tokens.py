"""A test signing key and token minting, standing in for the admin module's JWKS.

The JWKS protocol is ours, so a fake source is fine in unit and integration tests; the
end-to-end tests use the real admin module.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "http://artstore.test/admin"
AUDIENCE = "artstore"

USER_SCOPES = {
    "USER": "files:read files:write files:delete",
    "OPERATOR": "files:read files:write files:delete storage:read storage:admin",
    "ADMIN": "files:read files:write files:delete storage:read storage:admin identity:admin",
}


class TestKeys:
    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: set[str] = set()
        self.fetches = 0
        self.kid = self.add_key()

    def add_key(self, *, publish: bool = True) -> str:
        kid = uuid.uuid4().hex[:16]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.add(kid)
        return kid

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid in sorted(self.published):
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
            out.append(jwk)
        return {"keys": out}

    async def fetch(self) -> dict[str, Any]:
        """The JwksSource protocol."""
        self.fetches += 1
        return self.jwks()

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(uuid.uuid4()),
            "preferred_username": "alice",
            "kind": "user",
            "typ": "access",
            "role": "USER",
            "scope": USER_SCOPES["USER"],
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + 1800,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self, *, kid: str | None = None, headers: dict[str, Any] | None = None, **overrides: Any
    ) -> str:
        kid = kid or self.kid
        return jwt.encode(
            self.claims(**overrides),
            self.keys[kid],
            algorithm="RS256",
            headers={"kid": kid, **(headers or {})},
        )

    def user(self, role: str = "USER", username: str = "alice", sub: str | None = None) -> str:
        return self.token(
            role=role,
            preferred_username=username,
            scope=USER_SCOPES[role],
            sub=sub or str(uuid.uuid5(uuid.NAMESPACE_DNS, username)),
        )

    def service(self, name: str, scopes: str) -> str:
        return self.token(kind="service", role=None, preferred_username=name, sub=name, scope=scopes)
