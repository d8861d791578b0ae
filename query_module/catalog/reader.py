"""Reading one file record for a caller: through the cache, then the rights check.

A file the caller may not see answers exactly like a file that does not exist (404), so
that its existence is not disclosed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from query_module.access import may_read
from query_module.cache.cache import MetadataCache
from query_module.catalog import repository as repo
from query_module.errors import FileNotFound
from shared.auth import Principal


async def read_file(
    *, session: AsyncSession, cache: MetadataCache, principal: Principal, file_id: str
) -> dict[str, Any]:
    async def load(key: str) -> dict[str, Any] | None:
        return await repo.get_record(session, key)

    record = await cache.get(file_id, load)
    if record is None or not may_read(principal, record):
        raise FileNotFound(f"no file {file_id}")
    return record
