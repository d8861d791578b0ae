"""Starting sagas (finalize, transfer, delete, batch) and reading their progress.

The request is checked here, before answering, against the role table and the file's
retention (403/409 at once); only then is a saga row written, in the request's
transaction, for the workers to run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ingester_module.errors import NotTemporary, SagaInProgress, SagaNotFound
from ingester_module.files.service import Copy, Files, check_deletable, check_may_change, merged
from ingester_module.sagas import repository as repo
from ingester_module.sagas.schemas import BatchRequest, SagaView
from ingester_module.sagas.worker import SagaWorker
from shared.auth import Principal
from shared.errors import ArtStoreError, Conflict, Forbidden, InvalidInput

SERVICE = "ingester_module"


def actor_of(principal: Principal) -> dict[str, Any]:
    return {
        "id": principal.subject,
        "username": principal.username,
        "kind": principal.kind,
        "role": principal.role,
    }


def _source(copies: list[Copy], *, exclude: str | None = None) -> Copy:
    usable = [c for c in copies if c.se.id != exclude and c.state == "committed"]
    if not usable:
        raise Conflict("no committed copy to copy from")
    return usable[0]


@dataclass
class Sagas:
    files: Files
    worker: SagaWorker | None = None

    async def _create(
        self,
        session: AsyncSession,
        kind: str,
        principal: Principal,
        file_id: str,
        params: dict[str, Any],
        data: dict[str, Any],
        batch_id: uuid.UUID | None,
    ) -> uuid.UUID:
        saga_id = await repo.create(
            session,
            kind=kind,
            file_id=file_id,
            actor=actor_of(principal),
            params=params,
            data=data,
            batch_id=batch_id,
        )
        if saga_id is None:
            raise SagaInProgress(f"another saga is working on file {file_id}")
        return saga_id

    async def finalize(
        self,
        session: AsyncSession,
        principal: Principal,
        file_id: str,
        retain_until: datetime | None,
        batch_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        copies = await self.files.locate(file_id)
        check_may_change(principal, merged(copies))
        temporary = [
            c for c in copies if c.record.get("retention_policy") == "temporary" and c.state == "committed"
        ]
        if not temporary:
            raise NotTemporary(f"file {file_id} is not temporary")
        if retain_until is not None:
            retain_until = retain_until if retain_until.tzinfo else retain_until.replace(tzinfo=UTC)
            if retain_until <= datetime.now(UTC):
                raise InvalidInput("retain_until must be in the future")
        source = temporary[0]
        params = {"retain_until": retain_until.isoformat() if retain_until else None}
        data = {"source": source.se.id, "record": source.record}
        return await self._create(session, "finalize", principal, file_id, params, data, batch_id)

    async def transfer(
        self,
        session: AsyncSession,
        principal: Principal,
        file_id: str,
        target_id: str,
        batch_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        if principal.kind == "service":
            if not principal.has_scope("files:relocate"):
                raise Forbidden("transfers need the files:relocate scope")
        elif not principal.at_least("OPERATOR"):
            raise Forbidden("transfers are for OPERATOR and ADMIN")
        target = self.files.discovery.get(target_id)
        if target is None:
            raise InvalidInput(f"unknown storage element {target_id}")
        if target.mode not in ("rw", "edit"):
            raise Conflict(f"storage element {target_id} is in mode {target.mode} and takes no files")
        copies = await self.files.locate(file_id)
        if any(c.se.id == target_id for c in copies):
            raise Conflict(f"file {file_id} already has a copy on {target_id}")
        source = _source(copies, exclude=target_id)
        params = {"target_storage_element_id": target_id}
        data = {"source": source.se.id, "record": source.record}
        return await self._create(session, "transfer", principal, file_id, params, data, batch_id)

    async def delete(
        self, session: AsyncSession, principal: Principal, file_id: str, batch_id: uuid.UUID | None = None
    ) -> uuid.UUID:
        copies, silent = await self.files.find(file_id)
        check_deletable(principal, copies)
        # An SE that did not answer may hold a copy too: the saga keeps trying it (with
        # backoff) until it answers, a 404 there counting as deleted.
        data = {"copies": [c.se.id for c in copies] + [se.id for se in silent]}
        return await self._create(session, "delete", principal, file_id, {}, data, batch_id)

    async def batch(
        self, session: AsyncSession, principal: Principal, request: BatchRequest
    ) -> list[dict[str, Any]]:
        """One saga per file; a file that cannot start reports its error, the others go on."""
        batch_id = uuid.uuid4()
        results: list[dict[str, Any]] = []
        for file_id in request.file_ids:
            try:
                async with session.begin_nested():
                    saga_id = await self._start_one(session, principal, request, file_id, batch_id)
            except ArtStoreError as exc:
                results.append(
                    {
                        "file_id": file_id,
                        "error": {"status": exc.status, "code": exc.code, "detail": exc.detail},
                    }
                )
                continue
            results.append({"file_id": file_id, "saga_id": str(saga_id)})
        return results

    async def _start_one(
        self,
        session: AsyncSession,
        principal: Principal,
        request: BatchRequest,
        file_id: str,
        batch_id: uuid.UUID,
    ) -> uuid.UUID:
        if request.operation == "finalize":
            return await self.finalize(session, principal, file_id, request.retain_until, batch_id)
        if request.operation == "delete":
            return await self.delete(session, principal, file_id, batch_id)
        if not request.target_storage_element_id:
            raise InvalidInput("transfer needs target_storage_element_id")
        return await self.transfer(session, principal, file_id, request.target_storage_element_id, batch_id)

    def wake(self) -> None:
        if self.worker is not None:
            self.worker.wake()


async def view(session: AsyncSession, principal: Principal, saga_id: uuid.UUID) -> SagaView:
    saga = await repo.get(session, saga_id)
    if saga is None:
        raise SagaNotFound(f"no saga {saga_id}")
    mine = saga["actor"].get("id") == principal.subject and saga["actor"].get("kind") == principal.kind
    if not (mine or principal.kind == "service" or principal.at_least("OPERATOR")):
        raise SagaNotFound(f"no saga {saga_id}")
    return SagaView.of(saga)
