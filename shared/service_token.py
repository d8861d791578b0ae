"""A service's own access token, from the admin module by client credentials.

The token is renewed at half its lifetime so that a short admin outage never leaves a
service without a valid token (ARCHITECTURE.md section 4, availability). A failed renewal
keeps the old token in use and is retried with exponential backoff, not on every call: in
an outage callers get the cached token at once instead of each waiting out the HTTP timeouts.
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
    def __init__(
        self,
        client: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        retry_min_seconds: float = 1.0,
        retry_max_seconds: float = 60.0,
    ) -> None:
        self.client = client
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.retry_min_seconds = retry_min_seconds
        self.retry_max_seconds = retry_max_seconds
        self._token: str | None = None
        self._renew_at = 0.0
        self._expires_at = 0.0
        self._retry_at = 0.0  # no renewal attempt before this while the token is still valid
        self._failures = 0
        self._failed_attempts = 0  # only grows: tells a waiting caller that an attempt failed
        self._last_error: Exception | None = None
        self._lock = asyncio.Lock()

    def _cached(self) -> str | None:
        """The token, unless it is due for renewal (half-life passed and no backoff pending)."""
        now = time.monotonic()
        if self._token and (now < self._renew_at or (now < self._retry_at and now < self._expires_at)):
            return self._token
        return None

    async def token(self) -> str:
        if cached := self._cached():
            return cached
        failed_attempts = self._failed_attempts
        async with self._lock:
            if cached := self._cached():
                return cached
            if self._failed_attempts != failed_attempts and not self._unexpired():
                # An attempt failed while this call waited: do not queue another behind it.
                raise ServiceTokenError(f"cannot obtain a service token: {self._last_error}")
            return await self._renew()

    async def _renew(self) -> str:
        try:
            await self._fetch()
        except (httpx.HTTPError, ServiceTokenError) as exc:
            self._last_error = exc
            self._failures += 1
            self._failed_attempts += 1
            backoff = min(self.retry_min_seconds * 2 ** (self._failures - 1), self.retry_max_seconds)
            self._retry_at = time.monotonic() + backoff
            # Past half-life the old token is still valid until it expires: keep using it.
            if still_valid := self._unexpired():
                log.warning(
                    "service_token_renew_failed", extra={"error": repr(exc), "retry_in_seconds": backoff}
                )
                return still_valid
            raise ServiceTokenError(f"cannot obtain a service token: {exc}") from exc
        self._failures = 0
        self._last_error = None
        if self._token is None:
            raise ServiceTokenError("token endpoint answered without a token")
        return self._token

    def _unexpired(self) -> str | None:
        return self._token if self._token and time.monotonic() < self._expires_at else None

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
