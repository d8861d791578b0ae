"""The write-ahead log: one JSON line per record in ``<state_dir>/wal.log``.

Every change (``put``, ``update``, ``delete``, ``quarantine``) appends an ``intent`` (with
every key it may touch) and fsyncs before any byte of the change is written; after the
sidecar commit point it appends ``committed`` (fsynced); after the index transaction it
appends ``done`` (no fsync: recovery redoes the idempotent index step when it is missing)
or, when the change is rolled back, ``aborted``. Recovery (:mod:`.recovery`) reads the
records without ``done``/``aborted`` and finishes each one; the log is compacted when it
holds no open record. The WAL always lives on the SE's local state directory, also for
an S3-backed SE.

Group fsync: appends are written under a short lock; an append that must be durable then
takes the sync lock and fsyncs, unless an fsync that began after its write has already
covered it. Concurrent uploads thus share flushes, and no durable append returns before
an fsync that includes it has finished.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread

Open = dict[str, dict[str, Any]]


@dataclass
class WalRecord:
    txid: str
    op: str
    file_id: str
    keys: dict[str, str] = field(default_factory=dict)
    committed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Wal:
    def __init__(self, state_dir: Path, *, fsync: bool = True) -> None:
        self.path = state_dir / "wal.log"
        self.fsync = fsync
        self._lock = threading.Lock()  # appends and compaction
        self._sync_lock = threading.Lock()  # one fsync at a time
        self._written = 0  # appends written to the file so far
        self._synced = 0  # appends known to be on disk
        state_dir.mkdir(parents=True, exist_ok=True)

    def _append(self, entry: dict[str, Any], sync: bool) -> None:
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        with self._lock, open(self.path, "ab") as f:
            f.write(line)
            self._written += 1
            mine = self._written
        if sync and self.fsync:
            self._sync_covering(mine)

    def _sync_covering(self, mine: int) -> None:
        """Return once an fsync begun after append number ``mine`` was written has finished.

        The file is opened by name for the fsync: it flushes the file's every write, whoever
        made it, and after a compaction (which fsyncs what it copied) it is the new file."""
        with self._sync_lock:
            if self._synced >= mine:
                return  # a later fsync already covered this append
            with self._lock:
                upto = self._written
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._synced = upto

    async def _write(self, entry: dict[str, Any], *, sync: bool = True) -> None:
        await anyio.to_thread.run_sync(self._append, entry, sync)

    async def intent(self, op: str, file_id: str, keys: dict[str, str], **extra: Any) -> WalRecord:
        rec = WalRecord(uuid.uuid4().hex, op, file_id, keys, extra=extra)
        await self._write(
            {"txid": rec.txid, "state": "intent", "op": op, "file_id": file_id, "keys": keys, **extra}
        )
        return rec

    async def committed(self, rec: WalRecord) -> None:
        rec.committed = True
        await self._write({"txid": rec.txid, "state": "committed"})

    async def done(self, rec: WalRecord) -> None:
        await self._write({"txid": rec.txid, "state": "done"}, sync=False)

    async def aborted(self, rec: WalRecord) -> None:
        await self._write({"txid": rec.txid, "state": "aborted"})

    def open_records(self) -> list[WalRecord]:
        """Records without ``done`` or ``aborted``, in log order. A torn last line is ignored."""
        records: dict[str, WalRecord] = {}
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        for line in raw.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash was never acknowledged
            txid, state = entry.get("txid"), entry.get("state")
            if state == "intent":
                extra = {
                    k: v for k, v in entry.items() if k not in ("txid", "state", "op", "file_id", "keys")
                }
                records[txid] = WalRecord(
                    txid, entry["op"], entry["file_id"], entry.get("keys", {}), extra=extra
                )
            elif state == "committed" and txid in records:
                records[txid].committed = True
            elif state in ("done", "aborted"):
                records.pop(txid, None)
        return list(records.values())

    def compact(self) -> None:
        """Rewrite the log with only its open records (start-up, after recovery)."""
        with self._lock:
            open_records = self.open_records()
            temp = self.path.with_suffix(".tmp")
            with open(temp, "wb") as f:
                for rec in open_records:
                    entry = {
                        "txid": rec.txid,
                        "state": "intent",
                        "op": rec.op,
                        "file_id": rec.file_id,
                        "keys": rec.keys,
                        **rec.extra,
                    }
                    f.write((json.dumps(entry) + "\n").encode())
                    if rec.committed:
                        f.write((json.dumps({"txid": rec.txid, "state": "committed"}) + "\n").encode())
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            os.replace(temp, self.path)
