"""What ``artstore up`` runs: the services, their ports, databases and settings.

Everything here is plain data derived from one state directory (``./var``), so a second
run reuses the same databases, storage roots, keys and secrets.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ADMIN_PORT, INGESTER_PORT, QUERY_PORT, UI_PORT = 8000, 8020, 8030, 4200
FLEET_ACCOUNTS = ("svc-admin", "svc-storage", "svc-ingester", "svc-query")


@dataclass
class Service:
    name: str  # a label for logs and the summary
    module: str  # python -m <module>
    env_prefix: str
    port: int
    database: str
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class StorageElementSpec:
    se_id: str
    name: str
    mode: str
    port: int
    priority: int


STORAGE_ELEMENTS = (
    StorageElementSpec("se-edit-1", "Working files", "edit", 8010, 10),
    StorageElementSpec("se-rw-1", "Permanent archive", "rw", 8011, 10),
)


def load_secrets(var: Path) -> tuple[dict[str, str], bool]:
    """The fleet's generated secrets, created once and kept in var/secrets.json (mode 600)."""
    path = var / "secrets.json"
    if path.exists():
        return json.loads(path.read_text()), False
    values = {
        "admin_password": secrets.token_urlsafe(18),
        "key_encryption_key": secrets.token_urlsafe(32),
        "link_secret": secrets.token_urlsafe(32),
        **{f"client:{name}": secrets.token_urlsafe(32) for name in FLEET_ACCOUNTS},
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle, indent=2)
    return values, True


def build_services(
    var: Path,
    database_url: Callable[[str], str],
    redis_url: str | None,
    secret: dict[str, str],
    port_offset: int = 0,
) -> list[Service]:
    """The fleet: admin, two local-disk SEs (edit and rw), ingester, query.

    ``port_offset`` shifts every port, so a second fleet (an end-to-end test) can run
    beside the one ``make run`` started.
    """
    admin_url = f"http://127.0.0.1:{ADMIN_PORT + port_offset}"
    ui_port = UI_PORT + port_offset
    ui_origins = json.dumps([f"http://127.0.0.1:{ui_port}", f"http://localhost:{ui_port}"])

    def common(svc: str) -> dict[str, str]:
        values = {
            "admin_url": admin_url,
            "jwt_issuer": admin_url,
            "cors_origins": ui_origins,
        }
        if redis_url:
            values["redis_url"] = redis_url
        if svc != "svc-admin":
            values["service_client_id"] = svc
            values["service_client_secret"] = secret[f"client:{svc}"]
        return values

    admin = Service("admin", "admin_module", "ARTSTORE_ADMIN_", ADMIN_PORT + port_offset, "artstore_admin")
    admin.settings = {
        **common("svc-admin"),
        "bootstrap_username": "admin",
        "bootstrap_password": secret["admin_password"],
        "key_encryption_key": secret["key_encryption_key"],
        "fleet_secrets": json.dumps({name: secret[f"client:{name}"] for name in FLEET_ACCOUNTS}),
    }
    services = [admin]
    for spec in STORAGE_ELEMENTS:
        se = Service(
            spec.se_id,
            "storage_element",
            "ARTSTORE_STORAGE_",
            spec.port + port_offset,
            f"artstore_{spec.se_id.replace('-', '_')}",
        )
        se.settings = {
            **common("svc-storage"),
            "se_id": spec.se_id,
            "name": spec.name,
            "initial_mode": spec.mode,
            "priority": str(spec.priority),
            "root": str(var / "storage" / spec.se_id / "data"),
            "state_dir": str(var / "storage" / spec.se_id / "state"),
        }
        services.append(se)
    ingester = Service(
        "ingester", "ingester_module", "ARTSTORE_INGESTER_", INGESTER_PORT + port_offset, "artstore_ingester"
    )
    ingester.settings = {**common("svc-ingester"), "staging_dir": str(var / "ingester" / "staging")}
    query = Service("query", "query_module", "ARTSTORE_QUERY_", QUERY_PORT + port_offset, "artstore_query")
    query.settings = {**common("svc-query"), "link_secret": secret["link_secret"]}
    services += [ingester, query]
    for service in services:
        service.settings["database_url"] = database_url(service.database)
        service.settings["port"] = str(service.port)
        service.settings["public_url"] = service.url
        service.settings["instance_id"] = service.name
    return services


def environment(service: Service) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(service.env_prefix)}
    env.setdefault("ARTSTORE_ENV", "development")
    env.update({f"{service.env_prefix}{k.upper()}": v for k, v in service.settings.items()})
    return env
