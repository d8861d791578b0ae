"""Access-token verification, the same in every service (ARCHITECTURE.md section 4).

Tokens are RS256 JWTs issued by the admin module only. The verifier keeps the admin's
JWKS in memory (and in Redis, so a restart during an admin outage still verifies),
refetches it, rate-limited, when a token names an unknown ``kid``, and fails closed:
anything it cannot prove valid is a 401.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthorized

log = logging.getLogger("artstore.auth")

ROLES = ("USER", "OPERATOR", "ADMIN")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
JWKS_REDIS_KEY = "artstore:jwks"
VERIFIED_TOKENS_KEPT = 4096  # verified tokens remembered per process (shared.auth.TokenVerifier)

# The fleet's scope table (ARCHITECTURE.md section 4). A scope outside it is refused, never guessed at.
KNOWN_SCOPES = frozenset(
    {
        "files:read",
        "files:write",
        "files:write-on-behalf",
        "files:delete",
        "files:relocate",
        "feed:read",
        "storage:read",
        "storage:admin",
        "storage:register",
        "audit:write",
        "identity:admin",
    }
)

Kind = Literal["user", "service"]


@dataclass(frozen=True)
class Principal:
    subject: str
    username: str
    kind: Kind
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def at_least(self, role: str) -> bool:
        """True for a user whose role ranks at or above ``role``; services have no role."""
        return self.role is not None and ROLE_RANK.get(self.role, -1) >= ROLE_RANK[role]


class JwksSource(Protocol):
    async def fetch(self) -> dict[str, Any]: ...


class HttpJwksSource:
    """Reads ``/.well-known/jwks.json`` from the admin module."""

    def __init__(self, admin_url: str, client: httpx.AsyncClient) -> None:
        self.url = admin_url.rstrip("/") + "/.well-known/jwks.json"
        self.client = client

    async def fetch(self) -> dict[str, Any]:
        response = await self.client.get(self.url)
        response.raise_for_status()
        doc: dict[str, Any] = response.json()
        return doc


class TokenVerifier:
    def __init__(
        self,
        source: JwksSource,
        *,
        issuer: str,
        audience: str,
        leeway: float = 30,
        min_refresh_interval: float = 10,
        redis: Any | None = None,
    ) -> None:
        self.source = source
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.min_refresh_interval = min_refresh_interval
        self.redis = redis
        self._keys: dict[str, jwt.PyJWK] = {}
        self._last_fetch = float("-inf")
        self._lock = asyncio.Lock()
        # Tokens whose signature and claims were checked: token -> (kid, claims, principal). A client
        # sends one token with many requests; a hit re-checks only the time claims and that
        # the signing key is still published (a key dropped from the JWKS ends its tokens).
        self._verified: collections.OrderedDict[str, tuple[str, dict[str, Any], Principal]] = (
            collections.OrderedDict()
        )

    async def load(self) -> None:
        """At start: from the admin module, else from the copy kept in Redis. Never raises."""
        if await self._refresh():
            return
        if self.redis is not None:
            try:
                cached = await self.redis.get(JWKS_REDIS_KEY)
            except Exception:  # Redis is optional: a failure here only means no cached copy
                log.warning("jwks_redis_unavailable")
                return
            if cached:
                self._install(json.loads(cached))
                log.info("jwks_loaded_from_redis", extra={"keys": len(self._keys)})

    def _install(self, doc: dict[str, Any]) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for raw in doc.get("keys", []):
            if raw.get("kty") != "RSA" or not raw.get("kid"):
                continue
            try:
                keys[raw["kid"]] = jwt.PyJWK(raw, algorithm="RS256")
            except jwt.PyJWTError:
                log.warning("jwks_key_rejected", extra={"kid": raw.get("kid")})
        self._keys = keys

    async def _refresh(self) -> bool:
        async with self._lock:
            if time.monotonic() - self._last_fetch < self.min_refresh_interval:
                return False
            self._last_fetch = time.monotonic()
            try:
                doc = await self.source.fetch()
            except Exception as exc:  # the admin module may be down: keep the keys we have
                log.warning("jwks_fetch_failed", extra={"error": repr(exc)})
                return False
            self._install(doc)
        if self.redis is not None:
            try:
                await self.redis.set(JWKS_REDIS_KEY, json.dumps(doc))
            except Exception:
                log.warning("jwks_redis_store_failed")
        return True

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is None and await self._refresh():
            key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("token signed with an unknown key")
        return key

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None and hit[0] in self._keys and self._times_valid(hit[1]):
            self._verified.move_to_end(token)
            return hit[2]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed token") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized("token algorithm must be RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token has no key id")
        key = await self._key_for(kid)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        principal = principal_from_claims(claims)  # raises for a token that is not for us
        self._verified[token] = (kid, claims, principal)
        if len(self._verified) > VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        return principal

    def _times_valid(self, claims: dict[str, Any]) -> bool:
        """``exp`` and ``nbf`` against now, with the leeway jwt.decode applied."""
        now = time.time()
        return float(claims["exp"]) + self.leeway > now and float(claims["nbf"]) - self.leeway <= now


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    if claims.get("typ") != "access":
        raise Unauthorized("not an access token")
    kind = claims.get("kind")
    if kind not in ("user", "service"):
        raise Unauthorized("token kind must be user or service")
    role = claims.get("role")
    if kind == "user" and role not in ROLE_RANK:
        raise Unauthorized("unknown role")
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise Unauthorized("scope must be a string")
    return Principal(
        subject=str(claims["sub"]),
        username=str(claims.get("preferred_username") or claims["sub"]),
        kind=kind,
        role=role if kind == "user" else None,
        scopes=frozenset(scope.split()),
        token_id=claims.get("jti"),
    )


_bearer = HTTPBearer(auto_error=False)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_scope(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the principal must hold every one of ``scopes``."""

    async def check(principal: PrincipalDep) -> Principal:
        missing = [s for s in scopes if not principal.has_scope(s)]
        if missing:
            raise Forbidden(f"missing scope: {' '.join(missing)}")
        return principal

    return check


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: a user whose role is ``role`` or higher (services never pass)."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role}")

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.at_least(role):
            raise Forbidden(f"requires role {role} or higher")
        return principal

    return check


def require_service(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency for fleet-internal endpoints: a service token holding ``scopes``."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.kind != "service":
            raise Forbidden("only service accounts may call this endpoint")
        missing = [s for s in scopes if not principal.has_scope(s)]
        if missing:
            raise Forbidden(f"missing scope: {' '.join(missing)}")
        return principal

    return check


def scope_string(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))
