"""The steps of each saga kind. Every step is idempotent: after a crash it runs again.

finalize / transfer (ARCHITECTURE.md section 6), in this order:
  copy          stream the source copy to the target as a ``pending`` copy, same file_id and
                attributes, the SE checking the expected sha256 as it writes. Crash: the SE
                drops the unfinished upload; the step runs again (a finished pending copy
                answers 200, same content).
  verify        the target copy is read back and hashed; a different sha256 is a permanent
                failure, compensated by removing the pending copy.
  commit        switch the target copy to ``committed`` (finalize: permanent retention).
                From here on the saga never compensates: a committed copy is never removed.
  remove_source a ``relocated`` delete of the source copy, naming target and sha256.
delete:
  delete_copies every copy the request found, one by one (a gone copy counts as deleted).
Compensation (before commit): remove_pending deletes every pending copy the saga wrote.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import anyio

from ingester_module.clients.storage import StorageClient, StorageError, StorageUnreachable
from ingester_module.placement.breaker import Breakers
from ingester_module.placement.service import place
from shared.discovery import Discovery, StorageElementInfo

COPY_CHUNK = 256 * 1024


class PermanentFailure(Exception):
    """A step failed for a reason a retry cannot fix."""


@dataclass
class StepContext:
    saga: dict[str, Any]
    data: dict[str, Any]
    storage: StorageClient
    discovery: Discovery
    breakers: Breakers
    copy_bytes_per_second: float = 0
    persist: Callable[[], Awaitable[None]] = field(default=lambda: asyncio.sleep(0))

    @property
    def file_id(self) -> str:
        return str(self.saga["file_id"])

    def se(self, se_id: str) -> StorageElementInfo:
        se = self.discovery.get(se_id)
        if se is None:
            raise StorageUnreachable(se_id, LookupError("not in discovery"))
        return se


async def _throttled(response: aiohttp.ClientResponse, rate: float) -> AsyncIterator[bytes]:
    started, sent = time.monotonic(), 0
    async for chunk in response.content.iter_chunked(COPY_CHUNK):
        yield chunk
        sent += len(chunk)
        if rate > 0:
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)


def copy_attributes(record: dict[str, Any], retention: dict[str, Any]) -> dict[str, Any]:
    """Every attribute of the source copy, retention as the target should keep it."""
    attrs: dict[str, Any] = {
        k: record[k]
        for k in (
            "original_filename",
            "owner",
            "description",
            "tags",
            "metadata",
            "created_at",
            "updated_at",
            "revision",
            "related",
        )
        if k in record
    }
    attrs["retention"] = retention
    attrs["uploaded_via"] = record.get("uploaded_via") or "ingester:copy"
    return attrs


def target_retention(ctx: StepContext) -> dict[str, Any]:
    record = ctx.data["record"]
    if ctx.saga["kind"] == "finalize":
        return {
            "policy": "permanent",
            "expires_at": None,
            "retain_until": ctx.saga["params"].get("retain_until"),
            "legal_hold": bool(record.get("legal_hold")),
        }
    return {
        "policy": record.get("retention_policy", "temporary"),
        "expires_at": record.get("expires_at"),
        "retain_until": record.get("retain_until"),
        "legal_hold": bool(record.get("legal_hold")),
    }


def _targets(ctx: StepContext) -> list[StorageElementInfo]:
    chosen = ctx.saga["params"].get("target_storage_element_id")
    if chosen:
        return [ctx.se(chosen)]
    size = int(ctx.data["record"].get("size", 0))
    return [se for se in ctx.discovery.writable("rw", size) if se.id != ctx.data["source"]]


async def copy(ctx: StepContext) -> None:
    source = ctx.se(ctx.data["source"])
    # Re-read the source: a metadata change since the request must travel with the copy.
    fresh = await ctx.storage.get_record(source, ctx.file_id)
    if fresh is None:
        raise PermanentFailure(f"the source copy on {source.id} is gone")
    if fresh.get("sha256") != ctx.data["record"].get("sha256"):
        raise PermanentFailure(f"the source copy on {source.id} changed content")
    ctx.data["record"] = record = fresh
    attrs = copy_attributes(record, target_retention(ctx))

    async def attempt(target: StorageElementInfo) -> tuple[int, dict[str, Any]]:
        tried = ctx.data.setdefault("tried_targets", [])
        if target.id not in tried:
            tried.append(target.id)
            await ctx.persist()  # compensation must know every SE that may hold a pending copy
        async with ctx.storage.content(source, ctx.file_id) as response:
            return await ctx.storage.put_file(
                target,
                ctx.file_id,
                _throttled(response, ctx.copy_bytes_per_second),
                content_type=str(record.get("content_type") or "application/octet-stream"),
                attributes=attrs,
                length=int(record["size"]),
                expected_sha256=str(record["sha256"]),
                pending=True,
            )

    targets = _targets(ctx)
    if not targets:
        raise StorageUnreachable("*", LookupError("no rw storage element can take the copy"))
    try:
        target, _ = await place(targets, ctx.breakers, None, attempt)
    except StorageError as exc:
        if exc.code == "checksum_mismatch":
            raise PermanentFailure(f"the copy on {exc.se_id} does not match the source sha256") from exc
        raise
    ctx.data["target"] = target.id


async def verify(ctx: StepContext) -> None:
    """Read the target copy back and hash it: the bytes stored are the bytes of the source.

    Not the SE's ``/verify``: a failed one quarantines the copy (``corrupt``), and a
    quarantined copy is no longer ``pending``, so compensation could not remove it.
    """
    target = ctx.se(ctx.data["target"])
    expected = ctx.data["record"]["sha256"]
    current = await ctx.storage.get_record(target, ctx.file_id)
    if (
        current is None
        or current.get("sha256") != expected
        or current.get("size") != ctx.data["record"]["size"]
    ):
        raise PermanentFailure(f"the copy on {target.id} is missing or describes other content")
    digest = hashlib.sha256()
    async with ctx.storage.content(target, ctx.file_id) as response:
        async for chunk in _throttled(response, ctx.copy_bytes_per_second):
            await anyio.to_thread.run_sync(digest.update, chunk)
    if digest.hexdigest() != expected:
        raise PermanentFailure(
            f"the copy on {target.id} failed verification: sha256 {digest.hexdigest()} != {expected}"
        )


async def commit(ctx: StepContext) -> None:
    target = ctx.se(ctx.data["target"])
    # The pending copy was written with its final retention (permanent for a finalize):
    # committing it is what makes that retention count.
    await ctx.storage.patch(target, ctx.file_id, {"copy_state": "committed"})
    ctx.data["committed"] = True
    for other in ctx.data.get("tried_targets", []):
        if other != target.id:
            await _remove_pending(ctx, other)


async def remove_source(ctx: StepContext) -> None:
    source = ctx.se(ctx.data["source"])
    await ctx.storage.delete(
        source,
        ctx.file_id,
        reason="relocated",
        target=ctx.data["target"],
        sha256=ctx.data["record"]["sha256"],
    )


async def delete_copies(ctx: StepContext) -> None:
    done = ctx.data.setdefault("deleted", [])
    for se_id in ctx.data["copies"]:
        if se_id in done:
            continue
        try:
            await ctx.storage.delete(ctx.se(se_id), ctx.file_id)
        except StorageError as exc:
            if exc.status == 409:
                raise PermanentFailure(f"{se_id} refused the delete: {exc.code}") from exc
            raise
        done.append(se_id)
        await ctx.persist()


async def _remove_pending(ctx: StepContext, se_id: str) -> None:
    se = ctx.discovery.get(se_id)
    if se is None:
        return
    current = await ctx.storage.get_record(se, ctx.file_id)
    if current is None:
        return
    states = {c.get("state") for c in current.get("copies", []) if c.get("storage_element_id") == se_id}
    if "pending" in states or current.get("copy_state") == "pending":
        await ctx.storage.delete(se, ctx.file_id, reason="pending")


async def remove_pending(ctx: StepContext) -> None:
    if ctx.data.get("committed"):
        return  # never remove a committed copy
    for se_id in ctx.data.get("tried_targets", []):
        await _remove_pending(ctx, se_id)


Step = Callable[[StepContext], Awaitable[None]]

STEPS: dict[str, list[tuple[str, Step]]] = {
    "finalize": [("copy", copy), ("verify", verify), ("commit", commit), ("remove_source", remove_source)],
    "transfer": [("copy", copy), ("verify", verify), ("commit", commit), ("remove_source", remove_source)],
    "delete": [("delete_copies", delete_copies)],
}
COMPENSATION: dict[str, list[tuple[str, Step]]] = {
    "finalize": [("remove_pending", remove_pending)],
    "transfer": [("remove_pending", remove_pending)],
    "delete": [],
}
# Once one of these steps is done, failures are retried, never compensated.
POINT_OF_NO_RETURN = {"commit", "delete_copies"}
