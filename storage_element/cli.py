"""``python -m storage_element [serve|recover|reindex|scrub|consistency]``.

Without an argument (or with ``serve``) the SE serves HTTP. The other commands run the
same jobs as the maintenance API against the configured root and index database, print a
JSON report and exit; run them while the SE is stopped (recover) or at any time (the others).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from shared.db import create_engine, ensure_database, migrate, session_factory
from shared.runner import serve
from storage_element.app import MIGRATIONS, create_app
from storage_element.jobs.consistency import consistency
from storage_element.jobs.reindex import reindex
from storage_element.jobs.scrub import scrub
from storage_element.lifecycle import build_store, prepare
from storage_element.settings import Settings
from storage_element.storage.store import Store

COMMANDS: dict[str, Callable[[Store], Awaitable[dict[str, Any]]]] = {
    "recover": lambda store: prepare(store),
    "reindex": lambda store: reindex(store),
    "scrub": lambda store: scrub(store),
    "consistency": lambda store: consistency(store),
}


async def run_command(command: str, settings: Settings) -> dict[str, Any]:
    if settings.migrate_on_start:
        await ensure_database(settings.database_url)
        await migrate(settings.database_url, MIGRATIONS)
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        store = await build_store(settings, session_factory(engine), None)
        report = {} if command == "recover" else await prepare(store)
        result = await COMMANDS[command](store)
        return (
            {"command": command, "startup": report, "report": result}
            if report
            else {"command": command, "report": result}
        )
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m storage_element")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", *COMMANDS])
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        serve(create_app, settings)  # type: ignore[arg-type]
        return
    report = asyncio.run(run_command(args.command, settings))
    json.dump(report, sys.stdout, default=str, indent=1)
    sys.stdout.write("\n")
