"""One leader across admin replicas, for the health poller (ARCHITECTURE.md section 5).

The leader holds a session-level Postgres advisory lock on a connection of its own, in
autocommit, so no transaction stays open while it polls the storage elements over HTTP.
Postgres releases the lock when that connection ends (the replica stops, crashes or loses
the database), and a standby takes it at its next attempt.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("artstore.registry")


class Leadership:
    def __init__(self, engine: AsyncEngine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    async def ensure(self) -> bool:
        """True while this replica leads: checks the held connection, else tries to take the lock."""
        if self._conn is not None:
            try:
                await self._conn.scalar(sa.select(1))
                return True
            except Exception as exc:
                log.warning("poll_leadership_lost", extra={"error": repr(exc)})
                await self.release()
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if await conn.scalar(sa.select(sa.func.pg_try_advisory_lock(self.key))):
                self._conn = conn
                log.info("poll_leadership_taken")
                return True
        except BaseException:
            await conn.invalidate()
            raise
        await conn.close()
        return False

    async def release(self) -> None:
        """Drop the lock by closing its connection (a pooled one would keep holding it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
            finally:
                await conn.close()
