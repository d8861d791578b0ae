"""Redis client factory. Redis is optional everywhere: callers must survive its absence."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str | None) -> Redis | None:
    if not url:
        return None
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
