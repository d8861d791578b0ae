"""The audit event of a change travels in its WAL intent, so recovery writes the same one.

A change builds its event (id, time, actor, request id, action, target, and the details
known before it starts) before its WAL intent and stores it there (``audit``, see
docs/formats/wal.md). Whoever finishes the change, the request itself, a later upload of
the same id (``writer._finish_unindexed``) or recovery after a crash, records the event
from the intent, with what only the stored copy knows (an upload's size, sha256 and copy
state) added from the sidecar. The outbox keeps an event id once
(``shared.outbox.record(..., once=True)``), so finishing a change twice
records nothing more. An intent written before events travelled in the WAL has none: its
change is finished without an event, as it was then.
"""

from __future__ import annotations

from typing import Any

from shared.auth import Principal
from shared.outbox import audit_event
from storage_element.storage.sidecar import Sidecar
from storage_element.storage.wal import WalRecord


def intent_event(
    action: str,
    file_id: str,
    *,
    actor: Principal | None,
    details: dict[str, Any],
    outcome: str = "success",
) -> dict[str, Any]:
    """The event to store in the WAL intent of a change to ``file_id``."""
    return audit_event(
        service="storage_element",
        action=action,
        target=file_id,
        actor=actor,
        outcome=outcome,
        details=details,
    )


def finished_event(rec: WalRecord, sidecar: Sidecar | None) -> dict[str, Any] | None:
    """The event of the change ``rec``, now that it committed with ``sidecar`` in place."""
    event: dict[str, Any] | None = rec.extra.get("audit")
    if event is None or rec.op != "put" or sidecar is None:
        return event
    stored = {"size": sidecar.size, "sha256": sidecar.sha256, "copy_state": sidecar.copy_state}
    return {**event, "details": {**event["details"], **stored}}
