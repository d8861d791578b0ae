"""Calls from the admin module to a storage element, with the admin's own service token."""

from __future__ import annotations

from typing import Any

import httpx

from admin_module.storage_elements.errors import StorageElementUnreachable


class StorageElementClient:
    def __init__(self, http: httpx.AsyncClient, tokens: Any, *, timeout: float = 5.0) -> None:
        self.http = http
        self.tokens = tokens
        self.timeout = timeout

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(
                method, url, headers=await self.tokens.headers(), timeout=self.timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            raise StorageElementUnreachable(f"{url}: {type(exc).__name__}: {exc}") from exc

    async def info(self, base_url: str) -> dict[str, Any]:
        response = await self._call("GET", f"{base_url}/api/v1/info")
        if response.status_code != 200:
            raise StorageElementUnreachable(f"{base_url}/api/v1/info answered {response.status_code}")
        body = _json_object(response)
        if body is None:
            raise StorageElementUnreachable(f"{base_url}/api/v1/info did not answer a JSON object")
        return body

    async def readiness(self, base_url: str) -> str:
        """``ok``, ``degraded`` or ``fail`` as the SE reports it."""
        response = await self._call("GET", f"{base_url}/health/ready")
        body = _json_object(response)
        return str(body.get("status", "fail")) if body is not None else "fail"

    async def forward(self, method: str, url: str, json: dict[str, Any] | None = None) -> httpx.Response:
        """Pass an operator's request on; the SE's own answer (and errors) go back as they are."""
        return await self._call(method, url, json=json)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
