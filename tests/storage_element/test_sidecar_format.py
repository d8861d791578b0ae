"""The sidecar format against its golden files (docs/formats/attr-json.md) and the layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage_element.storage.backends.local import small_temp_name
from storage_element.storage.layout import MAX_NAME_BYTES, data_key, sidecar_key, storage_name, temp_key
from storage_element.storage.mutate import apply_changes
from storage_element.storage.sidecar import Sidecar, record
from tests.storage_element.conftest import SE

GOLDEN = Path(__file__).resolve().parents[2] / "docs" / "formats" / "golden"


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"attr-json-v1-{name}.json").read_text())
    return data


@pytest.mark.parametrize("name", ["minimal", "full", "future-fields", "corrupt", "compressed"])
def test_golden_files_load_and_round_trip(name: str) -> None:
    raw = golden(name)
    sidecar = Sidecar.load(json.dumps(raw))
    again = json.loads(sidecar.dump())
    for key, value in raw.items():  # every field, known or not, is written back
        if isinstance(value, dict):
            assert set(value) <= set(again[key]), key
        else:
            assert key in again, key
    assert Sidecar.load(again) == sidecar
    rec = record(sidecar, se_id="se-1", mode="rw")
    assert rec["sha256"] == raw["sha256"] and rec["copies"][0]["state"] == sidecar.copy_state


def test_unknown_fields_survive_an_update() -> None:
    sidecar = Sidecar.load(golden("future-fields"))
    updated = json.loads(apply_changes(sidecar, {"description": "new"}, mode="edit").dump())
    assert updated["compression"] == {"codec": "zstd", "stored_size": 3}
    assert updated["replicas"] == ["se-2"]
    assert updated["owner"]["department"] == "archive"
    assert updated["retention"]["hold_reason"] is None
    assert updated["revision"] == 2 and updated["description"] == "new"


def test_full_golden_follows_the_layout() -> None:
    raw = golden("full")
    sidecar = Sidecar.load(raw)
    assert storage_name(raw["original_filename"], raw["file_id"]) == raw["storage_name"]
    assert data_key(sidecar.created_at, raw["storage_name"]) == raw["path"]
    rec = record(sidecar, se_id="se-1", mode="ar")
    assert rec["status"] == "archived" and rec["retain_until"] == "2036-01-01T00:00:00Z"


def test_corrupt_golden_is_reported_corrupt() -> None:
    rec = record(Sidecar.load(golden("corrupt")), se_id="se-1", mode="rw")
    assert rec["status"] == "corrupt" and rec["legal_hold"] is True


def test_compressed_golden_describes_the_original_bytes() -> None:
    sidecar = Sidecar.load(golden("compressed"))
    assert sidecar.encoding is not None and sidecar.encoding.name == "zstd"
    assert (sidecar.size, sidecar.stored_size) == (135168, 67)
    rec = record(sidecar, se_id="se-1", mode="rw")
    assert rec["size"] == 135168 and "encoding" not in rec
    updated = json.loads(apply_changes(sidecar, {"tags": ["x"]}, mode="edit").dump())
    assert updated["encoding"] == {"name": "zstd", "stored_size": 67}
    assert "encoding" not in json.loads(Sidecar.load(golden("minimal")).dump())


def test_other_schema_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="schema_version"):
        Sidecar.load(dict(golden("minimal"), schema_version=2))


async def test_written_sidecar_has_the_documented_fields(se: SE) -> None:
    await se.put("doc1", b"test", original_filename="a.pdf", description="d", tags=["t"], metadata={"k": 1})
    written = json.loads(next(se.settings.root.rglob("*.attr.json")).read_text())
    assert set(written) == set(golden("full"))
    assert written["schema_version"] == 1 and written["path"].endswith("/a_doc1.pdf")


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("report.pdf", "report_ID.pdf"),
        ("../../etc/passwd", "___etc_passwd_ID"),
        ("a\x00b\nc.txt", "abc_ID.txt"),
        ("C:\\fakepath\\scan.TIFF", "C__fakepath_scan_ID.tiff"),
        ("Отчёт 2025.docx", "Отчёт 2025_ID.docx"),
        ("...", "file_ID"),
        ("", "file_ID"),
        ("archive.tar.gz", "archive.tar_ID.gz"),
        ("name.with/slash", "name.with_slash_ID"),
    ],
)
def test_storage_names_are_sanitised(original: str, expected: str) -> None:
    assert storage_name(original, "ID") == expected


def test_storage_names_are_bounded_and_keep_unicode() -> None:
    name = storage_name("я" * 500 + ".txt", "ID")
    stem = name.removesuffix("_ID.txt")
    assert len(stem.encode()) <= 120 and set(stem) == {"я"}


LONGEST_ID = "L" + "x" * 127  # 128 characters, the most a file id may have
LONG_NAME = "Отчёт_" * 26 + "ёёёёё.pdf"  # 300 bytes of UTF-8


def test_every_name_made_from_a_storage_name_fits_a_file_name() -> None:
    assert len(LONG_NAME.encode()) == 300
    name = storage_name(LONG_NAME, LONGEST_ID)
    assert name.endswith(f"_{LONGEST_ID}.pdf") and name.startswith("Отчёт_Отчёт_")
    assert len(name.encode()) <= MAX_NAME_BYTES
    key = data_key(datetime(2026, 1, 2, 3, tzinfo=UTC), name)
    on_disk = [name, temp_key(key).rsplit("/", 1)[1], sidecar_key(name), small_temp_name(sidecar_key(name))]
    assert max(len(n.encode()) for n in on_disk) <= 255


async def test_the_longest_id_with_a_long_unicode_name_is_stored(se: SE) -> None:
    """A 128-character id with a 300-byte name used to make a temp name over 255 bytes (500)."""
    r = await se.put(LONGEST_ID, b"long name", original_filename=LONG_NAME)
    assert r.status_code == 201, r.text
    assert r.json()["original_filename"] == LONG_NAME
    (path,) = se.settings.root.rglob("*.attr.json")
    written = Sidecar.load(path.read_bytes())
    assert written.original_filename == LONG_NAME
    assert written.storage_name == storage_name(LONG_NAME, LONGEST_ID)
    assert all(len(p.name.encode()) <= 255 for p in se.settings.root.rglob("*"))
    content = await se.client.get(f"/api/v1/files/{LONGEST_ID}/content", headers=se.auth())
    assert content.status_code == 200 and content.content == b"long name"
    retry = await se.put(LONGEST_ID, b"long name", original_filename=LONG_NAME)
    assert retry.status_code == 200
