"""docker-compose.yml is valid and names only what the project defines."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]
PREFIXES = {
    "ARTSTORE_ADMIN_": "admin_module",
    "ARTSTORE_STORAGE_": "storage_element",
    "ARTSTORE_INGESTER_": "ingester_module",
    "ARTSTORE_QUERY_": "query_module",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose (Debian package) is needed to validate the compose file"
    check = subprocess.run([binary, "config", "-q"], cwd=REPO, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    rendered = subprocess.run([binary, "config"], cwd=REPO, capture_output=True, text=True, check=True)
    parsed: dict[str, Any] = yaml.safe_load(rendered.stdout)
    return parsed


def project_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: spec for name, spec in compose["services"].items() if spec.get("image") == "artstore:latest"
    }


def test_compose_has_the_whole_fleet(compose: dict[str, Any]) -> None:
    names = set(compose["services"])
    assert {"postgres", "redis", "openldap", "s3", "ui", "prometheus"} <= names
    modules = [spec["command"][2] for spec in project_services(compose).values()]
    assert sorted(set(modules)) == sorted(PREFIXES.values())
    assert modules.count("storage_element") == 2


def test_every_command_is_a_project_entry_point(compose: dict[str, Any]) -> None:
    for name, spec in project_services(compose).items():
        command = spec["command"]
        assert command[:2] == ["python", "-m"], name
        assert importlib.util.find_spec(f"{command[2]}.__main__") is not None, f"{name}: {command}"
        main = importlib.import_module(f"{command[2]}.__main__")
        assert callable(getattr(main, "main", None)), f"{command[2]}.__main__ has no main()"


def all_variables(settings: type[BaseSettings], prefix: str) -> set[str]:
    """Every variable a Settings class reads, nested settings (with their own prefix) included."""
    names = set()
    for field_name, field in settings.model_fields.items():
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseSettings):
            names |= all_variables(nested, str(nested.model_config.get("env_prefix", "")))
        else:
            names.add(f"{prefix}{field_name.upper()}")
    return names


def test_every_setting_in_compose_exists(compose: dict[str, Any]) -> None:
    """A misspelt variable would be silently ignored at run time; here it fails."""
    for name, spec in project_services(compose).items():
        for variable in spec.get("environment", {}):
            prefix = next((p for p in PREFIXES if variable.startswith(p)), None)
            if prefix is None:
                continue
            settings = importlib.import_module(f"{PREFIXES[prefix]}.settings").Settings
            assert variable in all_variables(settings, prefix), f"{name}: {variable} is not a setting"


def test_dockerfile_builds_every_package() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ["shared", *PREFIXES.values()]:
        assert f"COPY {package} ./{package}" in dockerfile
