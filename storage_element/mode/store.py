"""The persisted mode: ``<state_dir>/mode.json``, replaced atomically and fsynced."""

from __future__ import annotations

import json
import os
from pathlib import Path

import anyio.to_thread


class ModeStore:
    def __init__(self, state_dir: Path, initial: str, *, fsync: bool = True) -> None:
        self.path = state_dir / "mode.json"
        self.fsync = fsync
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.current = str(json.loads(self.path.read_text())["mode"])
        except FileNotFoundError:
            self.current = initial
            self._write(initial)

    def _write(self, mode: str) -> None:
        temp = self.path.with_suffix(".tmp")
        with open(temp, "w") as f:
            json.dump({"mode": mode}, f)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.replace(temp, self.path)

    async def set(self, mode: str) -> None:
        await anyio.to_thread.run_sync(self._write, mode)
        self.current = mode
