"""``artstore up`` (what ``make run`` calls) and ``artstore migrate``."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from artstore.infra import Postgres, find_redis
from artstore.stack import (
    ADMIN_PORT,
    INGESTER_PORT,
    QUERY_PORT,
    UI_PORT,
    Service,
    build_services,
    load_secrets,
)
from artstore.supervisor import Supervisor

REPO = Path(__file__).resolve().parent.parent
UI_DIR = REPO / "admin_ui"


def migrations_of(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise SystemExit(f"cannot find the {module} package")
    return Path(spec.origin).parent / "migrations"


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ui_root(ui_dir: Path = UI_DIR) -> Path | None:
    found = sorted(ui_dir.glob("dist/*/browser/index.html")) or sorted(ui_dir.glob("dist/*/index.html"))
    return found[0].parent if found else None


# What the built UI depends on: an edit to any of them makes `make run` build it again.
UI_SOURCES = (
    "src",
    "public",
    "package.json",
    "package-lock.json",
    "angular.json",
    "tsconfig.json",
    "tsconfig.app.json",
)


def newest_change(ui_dir: Path, names: tuple[str, ...]) -> float:
    """The latest modification time of the named files, or of any file under a named folder."""
    latest = 0.0
    for name in names:
        path = ui_dir / name
        files = path.rglob("*") if path.is_dir() else [path]
        latest = max([latest, *(f.stat().st_mtime for f in files if f.is_file())])
    return latest


def ui_is_stale(ui_dir: Path, root: Path) -> bool:
    """The built UI is older than one of its sources (``make run`` after an edit)."""
    return newest_change(ui_dir, UI_SOURCES) > (root / "index.html").stat().st_mtime


def build_ui(var: Path, ui_dir: Path = UI_DIR) -> Path | None:
    """Build the admin UI when Node.js is present and the build is missing or older than its
    sources; otherwise say how."""
    if not (ui_dir / "package.json").exists():
        print("  admin UI: not built yet in this repository (admin_ui/ has no package.json)")
        return None
    root = ui_root(ui_dir)
    if root is not None and not ui_is_stale(ui_dir, root):
        return root
    if not shutil.which("npm"):
        if root is not None:
            print(
                "  admin UI: sources changed since the last build, but npm is not found: serving that build"
            )
            return root
        print("  admin UI: Node.js/npm not found; install Node.js 20+ and run `make run` again to serve it")
        return None
    steps = [["npm", "run", "build"]]
    modules = ui_dir / "node_modules"
    if (
        not modules.exists()
        or newest_change(ui_dir, ("package.json", "package-lock.json")) > modules.stat().st_mtime
    ):
        steps.insert(0, ["npm", "ci", "--no-audit", "--no-fund"])
    what = "rebuilding it (its sources changed)" if root else "building it once (a few minutes on first run)"
    print(f"  admin UI: {what}: {' && '.join(' '.join(step) for step in steps)}...")
    with (var / "logs" / "ui-build.log").open("wb") as log:
        for step in steps:
            if subprocess.run(step, cwd=ui_dir, stdout=log, stderr=subprocess.STDOUT, check=False).returncode:
                print(f"  admin UI: `{' '.join(step)}` failed; see {var / 'logs' / 'ui-build.log'}")
                return None
    return ui_root(ui_dir)


def up(var: Path, with_ui: bool, port_offset: int = 0) -> int:
    started = time.monotonic()
    var.mkdir(parents=True, exist_ok=True)
    var.chmod(0o700)
    secret, first_run = load_secrets(var)
    postgres = Postgres(var)
    print("ArtStore: starting the fleet")
    postgres.start()
    print(f"  postgres: {postgres.description}")
    redis_url, redis_note = find_redis()
    print(f"  redis:    {redis_note}")
    services = build_services(var, postgres.url, redis_url, secret, port_offset)
    busy = [s for s in services if port_in_use(s.port)]
    if with_ui and port_in_use(UI_PORT + port_offset):
        busy.append(Service("admin UI", "", "", UI_PORT + port_offset, ""))
    if busy:
        postgres.stop()
        names = ", ".join(f"{s.name} :{s.port}" for s in busy)
        print(
            f"\nports already in use ({names}): is another ArtStore running? Stop it, or use --port-offset N."
        )
        return 1
    postgres.create_databases([s.database for s in services])
    supervisor = Supervisor(var)
    # Explicit handlers: a launcher started in the background inherits an ignored SIGINT.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        admin, rest = services[0], services[1:]
        supervisor.start(admin)
        supervisor.wait_ready(admin)
        for service in rest:
            supervisor.start(service)
        for service in rest:
            supervisor.wait_ready(service)
        ui_url = start_ui(supervisor, var, port_offset) if with_ui else None
        print_summary(services, ui_url, secret, first_run, var, time.monotonic() - started)
        while (crashed := supervisor.first_exited()) is None:
            time.sleep(1)
        print(f"\n{crashed.name} stopped unexpectedly; see {supervisor.log_of(crashed)}. Stopping the fleet.")
        return 1
    except KeyboardInterrupt:
        print("\nstopping the fleet...")
        return 0
    except RuntimeError as exc:
        print(f"\nstart-up failed: {exc}")
        return 1
    finally:
        try:
            if killed := supervisor.stop_all():
                print(f"killed after the shutdown grace period: {', '.join(killed)}")
        finally:
            postgres.stop()
        print("stopped.")


def start_ui(supervisor: Supervisor, var: Path, port_offset: int) -> str | None:
    root = build_ui(var)
    if root is None:
        return None
    config = {
        "adminUrl": f"http://127.0.0.1:{ADMIN_PORT + port_offset}",
        "ingesterUrl": f"http://127.0.0.1:{INGESTER_PORT + port_offset}",
        "queryUrl": f"http://127.0.0.1:{QUERY_PORT + port_offset}",
    }
    ui = Service("ui", "artstore.ui_server", "ARTSTORE_UI_", UI_PORT + port_offset, "")
    ui.settings = {"root": str(root), "config": json.dumps(config), "port": str(ui.port)}
    supervisor.start(ui)
    supervisor.wait_ready(ui, timeout=30)
    return ui.url


def print_summary(
    services: list[Service],
    ui_url: str | None,
    secret: dict[str, str],
    first_run: bool,
    var: Path,
    took: float,
) -> None:
    print(f"\nArtStore is up ({took:.1f}s). Every service answered /health/ready.\n")
    for service in services:
        print(f"  {service.name:<10} {service.url}   (docs: {service.url}/docs)")
    if ui_url:
        print(f"  {'admin UI':<10} {ui_url}")
    print(f"\n  logs: {var / 'logs'}/<service>.log")
    if first_run:
        print(f"\n  first ADMIN: admin / {secret['admin_password']}")
        print("  (shown once; kept in var/secrets.json, mode 600)")
    else:
        print("\n  first ADMIN: admin (password in var/secrets.json, key admin_password)")
    print("\nPress Ctrl-C to stop everything.")
    sys.stdout.flush()


def migrate(var: Path) -> int:
    from shared.db import migrate as run_migrations

    secret, _ = load_secrets(var)
    postgres = Postgres(var)
    postgres.start()
    try:
        services = build_services(var, postgres.url, None, secret)
        postgres.create_databases([s.database for s in services])

        async def run_all() -> None:
            for service in services:
                await run_migrations(service.settings["database_url"], migrations_of(service.module))
                print(f"  {service.name}: migrated")

        asyncio.run(run_all())
    finally:
        postgres.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="artstore", description="Run ArtStore on this machine.")
    parser.add_argument("--var", type=Path, default=Path("var"), help="state directory (default ./var)")
    commands = parser.add_subparsers(dest="command", required=True)
    up_cmd = commands.add_parser("up", help="start the whole fleet and wait for Ctrl-C")
    up_cmd.add_argument("--no-ui", action="store_true", help="do not build or serve the admin UI")
    up_cmd.add_argument("--port-offset", type=int, default=0, help="shift every port (run a second fleet)")
    commands.add_parser("migrate", help="create the databases and apply every service's migrations")
    args = parser.parse_args(argv)
    var = args.var.resolve()
    if args.command == "up":
        return up(var, with_ui=not args.no_ui, port_offset=args.port_offset)
    var.mkdir(parents=True, exist_ok=True)
    return migrate(var)


if __name__ == "__main__":
    sys.exit(main())
