"""The configuration reference is generated from the code and must be current."""

from __future__ import annotations

from artstore.config_doc import OUTPUT, render


def test_configuration_reference_is_current() -> None:
    assert OUTPUT.read_text() == render(), (
        "run `python -m artstore.config_doc` and commit docs/configuration.md"
    )


def test_every_variable_has_a_meaning() -> None:
    """Each Settings field carries ``Field(description=...)``: the reference says what it does."""
    rows = [line for line in render().splitlines() if line.startswith("| `ARTSTORE_")]
    assert rows
    assert [line.split("|")[1].strip() for line in rows if line.endswith("|  |")] == []


def test_fleet_wide_variables_are_documented_with_their_defaults() -> None:
    rows = {
        line.split("|")[1].strip(): line.split("|")[3].strip()
        for line in render().splitlines()
        if "|" in line
    }
    assert rows["`ARTSTORE_ENV`"] == "`production`"
    assert rows["`OTEL_EXPORTER_OTLP_ENDPOINT`"] == "(empty)"
