"""Write docs/configuration.md from the services' Settings classes (``python -m artstore.config_doc``).

The reference is generated so that it can never drift from the code; a test compares it
with a fresh rendering.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from shared.settings import DEFAULT_ENVIRONMENT, ServiceSettings

SERVICES = {
    "admin_module": "Admin module",
    "storage_element": "Storage element",
    "ingester_module": "Ingester",
    "query_module": "Query module",
}
OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        try:
            value: Any = field.default_factory()  # type: ignore[call-arg]
        except Exception:
            return "(computed)"
    else:
        value = field.default
    if value is PydanticUndefined:
        return "(required)"
    if hasattr(value, "get_secret_value"):
        return "(secret, empty)" if not value.get_secret_value() else "(secret)"
    if value in ("", None, [], {}):
        return "(empty)"
    return f"`{value}`"


def _type(field: FieldInfo) -> str:
    text = str(field.annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
    return text.replace("pydantic.types.", "").replace("|", "\\|")


def render() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from the Settings classes by `python -m artstore.config_doc`; do not edit by hand.",
        "Every service reads environment variables `ARTSTORE_<SERVICE>_<FIELD>` (upper case) and",
        "validates them at start-up. `ARTSTORE_ENV` (development, test, production) is common to all.",
        "Lists and maps are JSON. `make run` sets all of these for the local fleet.",
        "",
        "## Every service",
        "",
        "| Variable | Type | Default | Meaning |",
        "|---|---|---|---|",
        f"| `ARTSTORE_ENV` | str | `{DEFAULT_ENVIRONMENT}` | development, test or production (no service"
        " prefix); placeholder secrets (`change-me`, `dev-…`, `example`, …) and generated keys shorter"
        " than 16 characters are refused unless it is development. `make run` sets development |",
        "| `OTEL_EXPORTER_OTLP_ENDPOINT` | str | (empty) | OpenTelemetry collector (OTLP over HTTP, e.g."
        " `http://collector:4318`) that traces are exported to; unset: traces are not exported (the"
        " other standard `OTEL_EXPORTER_OTLP_*` variables apply) |",
        "",
        "## `make run` (`artstore up`)",
        "",
        "| Variable | Type | Default | Meaning |",
        "|---|---|---|---|",
        "| `ARTSTORE_DATABASE_URL` | str | (empty) | a Postgres server URL"
        " (`postgresql://user:pass@host:5432`, a query string allowed); the driver becomes asyncpg and"
        " each service gets its own database on it; unset: an embedded Postgres with its data under"
        " `var/` |",
        "| `ARTSTORE_EMBEDDED_POSTGRES_SHARED_BUFFERS` | str | `512MB` | `shared_buffers` of the embedded"
        " Postgres (set with `ALTER SYSTEM`; the start that changes it restarts the server once);"
        " Postgres' own 128MB made a broad search at 1.1M catalog rows read its pages from the OS"
        " cache (docs/performance.md); not used with `ARTSTORE_DATABASE_URL` |",
        "| `ARTSTORE_REDIS_URL` | str | (empty) | Redis for the whole fleet; unset: one answering on"
        " 127.0.0.1:6379 if any, else the fleet runs without Redis (polling instead of notifications) |",
    ]
    for module, title in SERVICES.items():
        settings = importlib.import_module(f"{module}.settings").Settings
        prefix = settings.model_config.get("env_prefix", "")
        lines += [
            "",
            f"## {title} (`{prefix}*`)",
            "",
            "| Variable | Type | Default | Meaning |",
            "|---|---|---|---|",
        ]
        lines += _rows(settings, prefix)
    return "\n".join(lines) + "\n"


def _rows(settings: type[BaseSettings], prefix: str) -> list[str]:
    rows = []
    for name, field in settings.model_fields.items():
        if name == "env":
            continue
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseSettings):
            rows += _rows(nested, str(nested.model_config.get("env_prefix", "")))
            continue
        inherited = ServiceSettings.model_fields.get(name)
        description = field.description or (inherited.description if inherited else None) or ""
        meaning = description.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{prefix}{name.upper()}` | {_type(field)} | {_default(field)} | {meaning} |")
    return rows


def main() -> int:
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
