"""The content type of an upload: the one the client sent, else detected.

Detection looks at the first bytes (a few well-known signatures) and then at the name;
anything unknown is ``application/octet-stream``.
"""

from __future__ import annotations

import mimetypes

GENERIC = {"", "application/octet-stream", "binary/octet-stream"}
PEEK_BYTES = 512

# (offset, signature, content type), most specific first.
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"(\xb5/\xfd", "application/zstd"),
    (0, b"7z\xbc\xaf'\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (0, b"{\\rtf", "application/rtf"),
    (0, b"<?xml", "application/xml"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (4, b"ftyp", "video/mp4"),
)
ZIP = b"PK\x03\x04"


def _by_name(filename: str) -> str | None:
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed


def _by_magic(head: bytes) -> str | None:
    for offset, signature, content_type in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return content_type
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "text/html"
    return None


def detect(declared: str | None, filename: str, head: bytes) -> str:
    """``declared`` unless generic; else magic bytes; else the name; else octet-stream."""
    declared = (declared or "").strip()
    if declared.split(";")[0].strip().lower() not in GENERIC:
        return declared
    if head.startswith(ZIP):
        # Office documents, EPUB and JAR are zip files: their name says more than the magic.
        return _by_name(filename) or "application/zip"
    return _by_magic(head) or _by_name(filename) or "application/octet-stream"
