"""Minting access tokens (RS256 JWTs) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from admin_module.auth import repository
from admin_module.keys.service import KeyRing
from shared.auth import scope_string


@dataclass(frozen=True)
class Issued:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


def hash_opaque(token: str) -> str:
    """Opaque tokens carry 256 random bits, so a plain SHA-256 is a safe at-rest form."""
    return hashlib.sha256(token.encode()).hexdigest()


async def access_token(
    session: AsyncSession,
    *,
    ring: KeyRing,
    issuer: str,
    audience: str,
    lifetime: int,
    subject: str,
    username: str,
    kind: str,
    role: str | None,
    scopes: set[str] | frozenset[str],
) -> str:
    kid, key = await ring.signing_key(session)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "preferred_username": username,
        "kind": kind,
        "typ": "access",
        "scope": scope_string(scopes),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
    }
    if role is not None:
        claims["role"] = role
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def refresh_token(
    session: AsyncSession, *, user_id: uuid.UUID, family_id: uuid.UUID, scope: str, lifetime: int
) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await repository.add_refresh(
        session,
        id=uuid.uuid4(),
        token_hash=hash_opaque(token),
        family_id=family_id,
        user_id=user_id,
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    return token
