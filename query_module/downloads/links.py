"""Signed download links: ``POST /api/v1/files/{id}/download-link``.

A link carries the file id, the principal who asked for it (id, name, kind, role) and an
expiry, signed with HMAC-SHA256 under ``link_secret``. It downloads without an
``Authorization`` header; any change to the file, the principal or the expiry breaks the
signature. The secret comes from settings; the shared settings validator refuses a
placeholder outside development, and without any secret links are refused (503) except
in development, where a fixed development secret is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from query_module.errors import InvalidLink, LinksNotConfigured
from query_module.settings import Settings
from shared.auth import Principal

DEVELOPMENT_SECRET = "artstore-development-link-key"  # noqa: S105 (development only)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def secret_of(settings: Settings) -> bytes:
    secret = settings.link_secret.get_secret_value()
    if not secret:
        if not settings.is_development:
            raise LinksNotConfigured("set ARTSTORE_QUERY_LINK_SECRET to enable signed links")
        secret = DEVELOPMENT_SECRET
    return secret.encode()


def sign(secret: bytes, file_id: str, principal: Principal, expires: int) -> str:
    payload = {
        "f": file_id,
        "s": principal.subject,
        "u": principal.username,
        "k": principal.kind,
        "r": principal.role,
        "e": expires,
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(secret: bytes, token: str, file_id: str) -> Principal:
    """The principal a link was issued to, if the link is intact, unexpired and for ``file_id``."""
    try:
        body, mac = token.split(".", 1)
        expected = hmac.new(secret, body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise InvalidLink("the link signature does not match")
        payload: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, TypeError) as exc:
        raise InvalidLink("malformed download link") from exc
    if payload.get("f") != file_id:
        raise InvalidLink("the link is for another file")
    if int(payload.get("e", 0)) < time.time():
        raise InvalidLink("the link has expired")
    return Principal(
        subject=str(payload["s"]),
        username=str(payload.get("u") or payload["s"]),
        kind="service" if payload.get("k") == "service" else "user",
        role=payload.get("r"),
        scopes=frozenset({"files:read"}),
    )


def make_link(settings: Settings, base_url: str, file_id: str, principal: Principal) -> dict[str, str]:
    expires = int(time.time()) + settings.link_ttl_seconds
    token = sign(secret_of(settings), file_id, principal, expires)
    url = f"{base_url.rstrip('/')}/api/v1/files/{file_id}/download?link={token}"
    return {"url": url, "expires_at": datetime.fromtimestamp(expires, UTC).isoformat()}
