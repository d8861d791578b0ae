"""Fixed-window rate limits on the token endpoint, shared by every admin replica.

Counters live in Redis (INCR with an expiry); without Redis, or when it fails, in Postgres
(an upsert on ``rate_limit_counters``, committed on its own so a rejected request still counts).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_module.auth import repository
from admin_module.auth.errors import TooManyRequests
from shared.db import unit_of_work

log = logging.getLogger("artstore.admin.ratelimit")


class RateLimiter:
    def __init__(self, *, redis: Any | None, sessions: async_sessionmaker[AsyncSession], window: int) -> None:
        self.redis = redis
        self.sessions = sessions
        self.window = window

    async def _redis_hit(self, key: str) -> tuple[int, float] | None:
        if self.redis is None:
            return None
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.window, nx=True)
                pipe.pttl(key)
                count, _, pttl = await pipe.execute()
        except Exception as exc:  # Redis is optional: fall back to Postgres
            log.warning("rate_limit_redis_failed", extra={"error": repr(exc)})
            return None
        return int(count), max(int(pttl), 0) / 1000

    async def _postgres_hit(self, key: str) -> tuple[int, float]:
        now = datetime.now(UTC)
        async with unit_of_work(self.sessions) as session:
            count, expires_at = await repository.count_hit(session, key, timedelta(seconds=self.window), now)
        return count, (expires_at - now).total_seconds()

    async def hit(self, key: str, limit: int) -> None:
        """Count one attempt for ``key``; raise 429 with Retry-After once ``limit`` is exceeded."""
        full_key = f"artstore:ratelimit:{key}"
        result = await self._redis_hit(full_key) or await self._postgres_hit(full_key)
        count, remaining = result
        if count > limit:
            retry = max(1, math.ceil(remaining))
            raise TooManyRequests(f"too many attempts; retry in {retry} seconds", retry_after=retry)
