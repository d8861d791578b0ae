"""Self-registration with the admin module (ARCHITECTURE.md section 5).

An SE configured with the admin URL and its service credentials registers itself at
start-up with ``POST /internal/v1/storage-elements/register`` ``{"id","url"}``. The call
is idempotent by the SE's stable id, so it is simply retried, with backoff, until the
admin module answers; the SE serves meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

log = logging.getLogger("artstore.registration")


async def register_until_accepted(
    http: httpx.AsyncClient,
    tokens: Any,
    admin_url: str,
    *,
    se_id: str,
    url: str,
    first_delay: float = 0.5,
    max_delay: float = 30.0,
) -> None:
    endpoint = admin_url.rstrip("/") + "/internal/v1/storage-elements/register"
    delay = first_delay
    while True:
        try:
            response = await http.post(
                endpoint, json={"id": se_id, "url": url}, headers=await tokens.headers()
            )
            if response.status_code in (200, 201):
                log.info("registered", extra={"se_id": se_id, "url": url})
                return
            log.warning(
                "registration_refused", extra={"status": response.status_code, "body": response.text[:300]}
            )
        except Exception as exc:
            log.info("registration_failed", extra={"error": repr(exc)})
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
