"""The admin module's own service token (svc-admin), minted locally.

The admin module is the issuer, so it signs its token for calls to storage elements
with its active key instead of asking itself over HTTP. Renewed at half its lifetime.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_module.auth import tokens
from admin_module.keys.service import KeyRing
from admin_module.scopes import FLEET_ACCOUNTS
from shared.db import unit_of_work

CLIENT_ID = "svc-admin"


class LocalServiceTokens:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ring: KeyRing,
        *,
        issuer: str,
        audience: str,
        lifetime: int,
    ) -> None:
        self.sessions = sessions
        self.ring = ring
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self._token = ""
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if time.monotonic() >= self._renew_at:
                async with unit_of_work(self.sessions) as session:
                    self._token = await tokens.access_token(
                        session,
                        ring=self.ring,
                        issuer=self.issuer,
                        audience=self.audience,
                        lifetime=self.lifetime,
                        subject=CLIENT_ID,
                        username=CLIENT_ID,
                        kind="service",
                        role=None,
                        scopes=FLEET_ACCOUNTS[CLIENT_ID][1],
                    )
                self._renew_at = time.monotonic() + self.lifetime / 2
            return self._token

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}
