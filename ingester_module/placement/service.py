"""Placement: which storage element takes a new file (ARCHITECTURE.md section 6).

Sequential fill: online SEs of the required mode (temporary -> ``edit``, permanent ->
``rw``) with room for the declared size, lowest priority number first, skipping SEs whose
breaker is open. :func:`place` tries them in that order; an SE that refuses before the
first byte of the body was sent to it (507, mode, no answer) hands the upload to the next.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ingester_module.clients.storage import Body, StorageError, StorageUnreachable
from ingester_module.errors import NoStorageAvailable
from ingester_module.placement.breaker import Breakers
from shared.discovery import Discovery, StorageElementInfo

log = logging.getLogger("artstore.ingester.placement")

MODE_FOR_POLICY = {"temporary": "edit", "permanent": "rw"}
# SE answers that mean "not this SE, try another" when nothing of the body was sent yet.
MOVE_ON_STATUSES = {507, 503, 502, 504}
MOVE_ON_CODES = {"insufficient_storage", "mode_forbids", "too_large"}

T = TypeVar("T")


def candidates(discovery: Discovery, breakers: Breakers, policy: str, size: int) -> list[StorageElementInfo]:
    mode = MODE_FOR_POLICY[policy]
    return [se for se in discovery.writable(mode, size) if not breakers.is_open(se.id)]


def record_outcome(breakers: Breakers, se_id: str, exc: BaseException | None) -> None:
    if exc is None:
        breakers.success(se_id)
    elif isinstance(exc, StorageUnreachable) or (
        isinstance(exc, StorageError) and exc.status >= 500 and exc.status != 507
    ):
        breakers.failure(se_id)


def _moves_on(exc: BaseException) -> bool:
    if isinstance(exc, StorageUnreachable):
        return True
    return isinstance(exc, StorageError) and (exc.status in MOVE_ON_STATUSES or exc.code in MOVE_ON_CODES)


async def place(
    ses: list[StorageElementInfo],
    breakers: Breakers,
    body: Body | None,
    attempt: Callable[[StorageElementInfo], Awaitable[T]],
) -> tuple[StorageElementInfo, T]:
    """Run ``attempt`` on each SE in turn until one takes the file.

    With a one-shot ``body`` the next SE is tried only while ``body.started`` is false:
    bytes already sent cannot be sent again. ``body=None`` means the source can be
    re-read (a staged tus file, a copy from another SE).
    """
    last: BaseException | None = None
    for se in ses:
        if not breakers.allows(se.id):
            continue
        try:
            result = await attempt(se)
        except (StorageError, StorageUnreachable) as exc:
            if body is not None and body.broken:
                raise  # the caller's body failed, not the SE: no mark against its breaker
            record_outcome(breakers, se.id, exc)
            log.warning("placement_refused", extra={"se_id": se.id, "error": str(exc)})
            if not _moves_on(exc) or (body is not None and body.started):
                raise
            last = exc
            continue
        record_outcome(breakers, se.id, None)
        return se, result
    raise NoStorageAvailable(
        "no storage element of the required mode can take this file"
        + (f" (last refusal: {last})" if last else "")
    )
