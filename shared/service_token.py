"""A service's own access token, from the admin module by client credentials.

The token is renewed at half its lifetime so that a short admin outage never leaves a
service without a valid token (ARCHITECTURE.md section 4, availability).
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

log = logging.getLogger("artstore.service_token")


class ServiceTokenError(Exception):
    pass


class ServiceTokenProvider:
    def __init__(self, client: httpx.AsyncClient, token_url: str, client_id: str, client_secret: str) -> None:
        self.client = client
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self._token: str | None = None
        self._renew_at = 0.0
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        now = time.monotonic()
        if self._token and now < self._renew_at:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._renew_at:
                return self._token
            try:
                await self._fetch()
            except (httpx.HTTPError, ServiceTokenError) as exc:
                # Past half-life the old token is still valid until it expires: keep using it.
                if self._token and time.monotonic() < self._expires_at:
                    log.warning("service_token_renew_failed", extra={"error": repr(exc)})
                    return self._token
                raise ServiceTokenError(f"cannot obtain a service token: {exc}") from exc
            if self._token is None:
                raise ServiceTokenError("token endpoint answered without a token")
            return self._token

    async def _fetch(self) -> None:
        response = await self.client.post(
            self.token_url,
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
        )
        if response.status_code != 200:
            raise ServiceTokenError(f"token endpoint answered {response.status_code}: {response.text[:200]}")
        body = response.json()
        lifetime = float(body.get("expires_in", 300))
        now = time.monotonic()
        self._token = body["access_token"]
        self._renew_at = now + lifetime / 2
        self._expires_at = now + lifetime - 5

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}
