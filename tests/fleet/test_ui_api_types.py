"""The admin UI's generated API types (admin_ui/src/app/api/generated/) are current.

They are made by ``npm run gen:api`` from the services' OpenAPI documents; when a route
or a schema changes and nobody regenerates them, the UI's contract check
(``contract.spec.ts``) compares against a stale picture. This test compares the routes and
schema names of each service's OpenAPI document, built from ``create_app``, with the
generated file.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "admin_ui" / "src" / "app" / "api" / "generated"
SERVICES = {"admin": "admin_module", "ingester": "ingester_module", "query": "query_module"}
PATH_LINE = re.compile(r'^    "(/[^"]*)": \{$')
SCHEMA_LINE = re.compile(r"^        ([A-Za-z0-9_]+): \{$")


def _openapi(package: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("ARTSTORE_ENV", "development")
    settings = importlib.import_module(f"{package}.settings").Settings()
    app = importlib.import_module(f"{package}.app").create_app(settings)
    document: dict[str, Any] = app.openapi()
    return document


def _generated(name: str) -> tuple[set[str], set[str]]:
    lines = (GENERATED / f"{name}.ts").read_text().splitlines()
    start = lines.index("export interface components {")
    paths = {m.group(1) for line in lines[:start] if (m := PATH_LINE.match(line))}
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("    responses:"))
    schemas = {m.group(1) for line in lines[start:end] if (m := SCHEMA_LINE.match(line))}
    return paths, schemas


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_generated_ui_types_match_the_service(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    document = _openapi(SERVICES[name], monkeypatch)
    paths, schemas = _generated(name)
    hint = "run `npm run gen:api` in admin_ui against a running fleet and commit the result"
    assert paths == set(document["paths"]), hint
    assert schemas == set(document["components"]["schemas"]), hint
