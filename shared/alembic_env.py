"""The body of every service's ``migrations/env.py``: async Alembic, online mode only.

Migrations hold a Postgres advisory lock (scoped to the service's database) from before
Alembic reads the current revision until the connection closes, so replicas that start
together apply the chain once, one after the other, instead of racing on the same DDL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATION_LOCK = 0x4152_5453_4D49  # "ARTSMI": one migrator per database at a time


def run(metadata: MetaData | None) -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set")

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                # A session lock, held across Alembic's own transaction(s); the waiting
                # replica reads the revision only once the first one has committed.
                await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                await connection.commit()
                await connection.run_sync(do_run)
                await connection.commit()
        finally:
            await engine.dispose()  # closes the connection, which releases the lock

    asyncio.run(main())
