"""Every service instance tells the admin module it is alive (ARCHITECTURE.md section 5).

``POST /internal/v1/heartbeats`` with kind, instance id, URL, version and start time,
every ``interval`` seconds, with the service's own token. A failed beat is logged and
retried on the next tick: the admin module being down never affects the service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.version import __version__

log = logging.getLogger("artstore.heartbeat")


def default_instance_id(kind: str) -> str:
    return f"{kind}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Heartbeat:
    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: Any,
        admin_url: str,
        *,
        kind: str,
        instance_id: str,
        url: str,
        interval: float = 5.0,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.endpoint = admin_url.rstrip("/") + "/internal/v1/heartbeats"
        self.interval = interval
        self.body = {
            "kind": kind,
            "instance_id": instance_id or default_instance_id(kind),
            "url": url,
            "version": __version__,
            "started_at": datetime.now(UTC).isoformat(),
        }
        self.last_ok: datetime | None = None

    async def beat(self) -> bool:
        try:
            response = await self.http.post(
                self.endpoint, json=self.body, headers=await self.tokens.headers()
            )
            response.raise_for_status()
        except Exception as exc:
            log.info("heartbeat_failed", extra={"error": repr(exc)})
            return False
        self.last_ok = datetime.now(UTC)
        return True

    async def run(self) -> None:
        while True:
            await self.beat()
            await asyncio.sleep(self.interval)
