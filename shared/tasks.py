"""Stopping background tasks reliably at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("artstore.tasks")


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], *, within: float = 10.0) -> None:
    """Cancel ``tasks`` and wait for them, cancelling again while they run.

    One ``cancel()`` is not always enough on Python 3.11: a cancellation that lands just as
    ``asyncio.wait_for`` or a redis-py read completes can be swallowed, and the task then
    goes on looping. Tasks still running after ``within`` seconds are logged and left.
    """
    pending = [task for task in tasks if not task.done()]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.2)
        pending = [task for task in pending if not task.done()]
    for task in pending:
        log.error("task_did_not_stop", extra={"task": task.get_name()})
