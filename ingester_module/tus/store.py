"""The tus staging directory: one upload = ``<id>.part`` (bytes) + ``<id>.json`` (state).

The staging directory survives a restart (and is shared by replicas), so an upload
resumes wherever it is continued. The offset is the length of ``<id>.part`` (one byte
short while the complete file waits for its SE commit), fsynced after every PATCH: a
PATCH that was answered is never lost. A PATCH holds an exclusive
``flock`` on ``<id>.lock``, so two requests (or two replicas) never append at once.
State changes are written to a temp file and renamed over ``<id>.json``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class UploadState:
    id: str
    length: int
    metadata: dict[str, str]
    owner: dict[str, Any]
    file_id: str
    created_at: str
    expires_at: str
    completed: bool = False
    record: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def expired(self) -> bool:
        return not self.completed and datetime.fromisoformat(self.expires_at) <= datetime.now(UTC)


class Locked(Exception):
    pass


class TusStore:
    """Blocking file operations; callers run them in a worker thread."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, upload_id: str, suffix: str) -> Path:
        if not _ID.match(upload_id):
            raise KeyError(upload_id)
        return self.root / f"{upload_id}{suffix}"

    def create(
        self, *, length: int, metadata: dict[str, str], owner: dict[str, Any], expires_at: datetime
    ) -> UploadState:
        state = UploadState(
            id=uuid.uuid4().hex,
            length=length,
            metadata=metadata,
            owner=owner,
            file_id=str(uuid.uuid4()),
            created_at=datetime.now(UTC).isoformat(),
            expires_at=expires_at.isoformat(),
        )
        self._path(state.id, ".part").touch()
        self.save(state)
        return state

    def save(self, state: UploadState) -> None:
        final = self._path(state.id, ".json")
        tmp = final.with_suffix(".json.tmp")
        with tmp.open("w") as f:
            json.dump(asdict(state), f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(final)

    def load(self, upload_id: str) -> UploadState | None:
        try:
            raw = json.loads(self._path(upload_id, ".json").read_text())
        except (KeyError, FileNotFoundError, ValueError):
            return None
        return UploadState(**raw)

    def staged(self, state: UploadState) -> int:
        """Bytes in ``<id>.part``."""
        try:
            return self._path(state.id, ".part").stat().st_size
        except FileNotFoundError:
            return 0

    def offset(self, state: UploadState) -> int:
        """The offset clients are told (HEAD, PATCH answers).

        Every byte staged but the file not yet committed to an SE (its commit failed, or
        the ingester died during it) reads as one byte short: tus has no state for
        "received, not stored", and a client told the full length would never send the
        request that retries the commit. It sends the last byte again instead.
        """
        if state.completed:
            return state.length
        return min(self.staged(state), max(state.length - 1, 0))

    def part_path(self, upload_id: str) -> Path:
        return self._path(upload_id, ".part")

    @contextlib.contextmanager
    def locked(self, upload_id: str) -> Iterator[None]:
        with self._path(upload_id, ".lock").open("a") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise Locked(upload_id) from exc
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def remove(self, upload_id: str) -> None:
        for suffix in (".part", ".json", ".lock", ".json.tmp"):
            with contextlib.suppress(FileNotFoundError, KeyError):
                self._path(upload_id, suffix).unlink()

    def drop_part(self, upload_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(upload_id, ".part").unlink()

    def expired(self) -> list[str]:
        """Ids of unfinished uploads past expiry, and finished ones kept past theirs."""
        out = []
        now = datetime.now(UTC)
        for path in self.root.glob("*.json"):
            state = self.load(path.stem)
            if state is not None and datetime.fromisoformat(state.expires_at) <= now:
                out.append(state.id)
        return out
