"""Files as the ingester sees them: every copy, found by asking the storage elements.

The sidecar on each SE is the truth (ARCHITECTURE.md section 2), so the ingester keeps no
file table of its own: it asks every known SE for the file (in parallel) and works on the
copies that answer. Rights (the role table of section 4) are checked here, before any
change starts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ingester_module.clients.storage import StorageClient, StorageError, StorageUnreachable
from ingester_module.errors import (
    FileNotFound,
    LegalHold,
    ModeForbids,
    RetentionActive,
    StorageRejected,
    StorageUnavailable,
)
from ingester_module.placement.breaker import Breakers
from ingester_module.placement.service import record_outcome
from ingester_module.uploads.schemas import FileUpdate
from shared.auth import Principal
from shared.discovery import Discovery, StorageElementInfo
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.outbox import audit_event, record

log = logging.getLogger("artstore.ingester.files")
SERVICE = "ingester_module"
PREFERRED_MODES = {"rw": 0, "ro": 0, "ar": 1, "edit": 2}


@dataclass
class Copy:
    se: StorageElementInfo
    record: dict[str, Any]

    @property
    def state(self) -> str:
        copies = self.record.get("copies") or []
        for c in copies:
            if c.get("storage_element_id") == self.se.id:
                return str(c.get("state", "committed"))
        return str(self.record.get("copy_state", "committed"))


@dataclass
class Files:
    discovery: Discovery
    breakers: Breakers
    storage: StorageClient

    async def _ask(self, se: StorageElementInfo, file_id: str) -> Copy | BaseException | None:
        try:
            found = await self.storage.get_record(se, file_id)
        except (StorageError, StorageUnreachable) as exc:
            record_outcome(self.breakers, se.id, exc)
            return exc
        return Copy(se, found) if found is not None else None

    async def find(self, file_id: str) -> tuple[list[Copy], list[StorageElementInfo]]:
        """The copies that answered, and the SEs that may hold one but did not answer.

        An SE discovery marks offline is not asked: it counts as not answering.
        """
        ses = self.discovery.all()
        asked = [se for se in ses if se.status != "offline"]
        answers = await asyncio.gather(*(self._ask(se, file_id) for se in asked))
        copies = [a for a in answers if isinstance(a, Copy)]
        silent = [se for se, a in zip(asked, answers, strict=True) if isinstance(a, BaseException)]
        silent += [se for se in ses if se.status == "offline"]
        if not copies:
            if silent:
                raise StorageUnavailable("a storage element that may hold the file did not answer")
            raise FileNotFound(f"no file {file_id}")
        return sorted(copies, key=lambda c: (PREFERRED_MODES.get(c.se.mode, 3), c.se.priority)), silent

    async def locate(self, file_id: str) -> list[Copy]:
        """Every copy that answered; 404 if none, 503 if none found while an SE did not answer."""
        return (await self.find(file_id))[0]


def check_all_answered(silent: list[StorageElementInfo]) -> None:
    """503 while an SE that may hold a copy is silent: a change must reach every copy."""
    if silent:
        names = ", ".join(se.id for se in silent)
        raise StorageUnavailable(f"storage elements that may hold a copy did not answer: {names}")


def is_owner(principal: Principal, rec: dict[str, Any]) -> bool:
    owner = rec.get("owner") or {}
    return bool(owner.get("id") == principal.subject and owner.get("kind", principal.kind) == principal.kind)


def check_may_change(principal: Principal, rec: dict[str, Any], *, scope: str = "files:write") -> None:
    """Owner or OPERATOR+ for people; the scope alone for service accounts."""
    if not principal.has_scope(scope):
        raise Forbidden(f"this needs the {scope} scope")
    if principal.kind == "service" or principal.at_least("OPERATOR") or is_owner(principal, rec):
        return
    raise Forbidden("only the owner or an OPERATOR may do this to the file")


def merged(copies: list[Copy]) -> dict[str, Any]:
    """The file record: attributes of the preferred copy, with every copy listed."""
    best = max(copies, key=lambda c: (c.record.get("revision", 0), c.record.get("updated_at", "")))
    out = dict(best.record)
    out["storage_element_id"] = copies[0].se.id
    out["copies"] = [{"storage_element_id": c.se.id, "mode": c.se.mode, "state": c.state} for c in copies]
    return out


def _se_error(exc: StorageError | StorageUnreachable) -> Exception:
    if isinstance(exc, StorageUnreachable):
        return StorageUnavailable(str(exc))
    if exc.status == 409 and exc.code == "mode_forbids":
        return ModeForbids(exc.detail)
    if exc.status == 409:
        return Conflict(exc.detail or exc.code)
    if exc.status == 422:
        return InvalidInput(exc.detail or exc.code)
    return StorageRejected(str(exc))


async def update(
    *, files: Files, session: AsyncSession, principal: Principal, file_id: str, changes: FileUpdate
) -> dict[str, Any]:
    """PATCH every copy (owner or OPERATOR+; legal hold OPERATOR+ only)."""
    body = changes.changes()
    if not body:
        raise InvalidInput("nothing to change")
    copies, silent = await files.find(file_id)
    check_may_change(principal, copies[0].record)
    if "legal_hold" in body and not principal.at_least("OPERATOR"):
        raise Forbidden("legal hold is for OPERATOR and ADMIN")
    check_all_answered(silent)  # a copy there would keep the old values: change none, not some
    frozen = [c.se.id for c in copies if c.se.mode in ("ro", "ar")]
    if frozen:
        raise ModeForbids(f"copies on read-only storage elements cannot change: {', '.join(frozen)}")
    updated: list[Copy] = []
    for copy in copies:
        try:
            updated.append(Copy(copy.se, await files.storage.patch(copy.se, file_id, body)))
        except (StorageError, StorageUnreachable) as exc:
            raise _se_error(exc) from exc
    await record(
        session,
        audit_event(
            service=SERVICE,
            action="file.update",
            actor=principal,
            target=file_id,
            details={"fields": sorted(body), "copies": [c.se.id for c in updated]},
        ),
    )
    return merged(updated)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_deletable(principal: Principal, copies: list[Copy]) -> None:
    """The delete rules, answered at once (403 or 409) before a saga starts."""
    rec = merged(copies)
    check_may_change(principal, rec, scope="files:delete")
    temporary = rec.get("retention_policy") == "temporary"
    if principal.kind == "user" and not principal.at_least("OPERATOR") and not temporary:
        raise Forbidden("users may delete only their own temporary files")
    if rec.get("legal_hold"):
        raise LegalHold("the file is under legal hold")
    if not temporary:
        until = _parse_time(rec.get("retain_until"))
        if until is None or until > datetime.now(UTC):
            raise RetentionActive("the file's retention has not expired" if until else "kept indefinitely")
    if any(c.se.mode == "ar" for c in copies):
        raise ModeForbids("a copy is on an archived storage element")
