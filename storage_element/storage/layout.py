"""Storage names and the on-disk layout (ARCHITECTURE.md "On-disk layout").

``<YYYY>/<MM>/<DD>/<HH>/<safe stem>_<file id>.<ext>`` plus ``.attr.json``, times in UTC.
The original filename is kept exactly in the sidecar; the storage name is a sanitised,
bounded form of it: no path separators, no control characters, no ``..``, Unicode kept.

Bounded so that every name on disk made from it fits one path component of a Linux file
system (255 bytes): the data object, its temp (``.<name>.tmp-<32 hex>``, the longest), the
sidecar (``<name>.attr.json``) and the sidecar's temp (``.<name>.attr.json.tmp``). The stem
gives way (cut on a character boundary) to the file id and the extension, which are kept.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime

from shared.errors import InvalidInput

SIDECAR_SUFFIX = ".attr.json"
QUARANTINE_DIR = ".quarantine"
MAX_STEM_BYTES = 120
NAME_MAX_BYTES = 255  # one path component (ext4, xfs, btrfs, tmpfs)
_TEMP_HEX = 32
MAX_NAME_BYTES = NAME_MAX_BYTES - len(f"..tmp-{'0' * _TEMP_HEX}")  # 217: room for the data temp
MAX_EXT_CHARS = 16
FILE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')


def check_file_id(file_id: str) -> str:
    if not FILE_ID_RE.fullmatch(file_id):
        raise InvalidInput("file_id must be 1-128 characters of letters, digits, '-' and '_'")
    return file_id


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    return text.replace("..", "_")


def _truncate_bytes(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes of ``text``, cut between characters."""
    encoded = text.encode("utf-8")[:limit]
    return encoded.decode("utf-8", errors="ignore")


def split_name(original: str) -> tuple[str, str]:
    stem, dot, ext = original.rpartition(".")
    if not dot or not stem or "/" in ext or "\\" in ext:
        return original, ""
    return stem, ext


def storage_name(original_filename: str, file_id: str) -> str:
    stem, ext = split_name(original_filename)
    safe_ext = re.sub(r"[^0-9A-Za-z]", "", ext)[:MAX_EXT_CHARS].lower()
    suffix = f"_{file_id}.{safe_ext}" if safe_ext else f"_{file_id}"
    # A checked id (128) and extension (16) leave the stem at least 71 bytes.
    budget = min(MAX_STEM_BYTES, MAX_NAME_BYTES - len(suffix.encode()))
    return (_truncate_bytes(_clean(stem), budget) or "file") + suffix


def data_key(created_at: datetime, name: str) -> str:
    return f"{created_at:%Y/%m/%d/%H}/{name}"


def temp_key(key: str) -> str:
    """A fresh temp key next to ``key`` for its data object (``.<name>.tmp-<32 hex>``)."""
    directory, _, name = key.rpartition("/")
    temp = f".{name}.tmp-{uuid.uuid4().hex}"
    return f"{directory}/{temp}" if directory else temp


def sidecar_key(key: str) -> str:
    return key + SIDECAR_SUFFIX


def quarantine_key(key: str) -> str:
    return f"{QUARANTINE_DIR}/{key}"


def is_sidecar(key: str) -> bool:
    return key.endswith(SIDECAR_SUFFIX) and not key.startswith(QUARANTINE_DIR + "/")
