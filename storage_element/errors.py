"""The storage element's domain errors (rendered as problem+json by shared.errors)."""

from __future__ import annotations

from shared.errors import ArtStoreError, Conflict, InvalidInput, NotFound


class FileNotFound(NotFound):
    code, title = "file_not_found", "File not found"


class FileExists(Conflict):
    code, title = "exists", "A file with this id and other content exists"


class ModeForbids(Conflict):
    code, title = "mode_forbids", "The storage element's mode forbids this operation"


class Archived(Conflict):
    code, title = "archived", "The file's content is archived offline"


class Corrupt(Conflict):
    code, title = "corrupt", "The file is quarantined as corrupt"


class RetentionActive(Conflict):
    code, title = "retention_active", "The file's retention has not expired"


class LegalHold(Conflict):
    code, title = "legal_hold", "The file is under legal hold"


class InvalidTransition(Conflict):
    code, title = "invalid_transition", "This mode transition is not allowed"


class Busy(Conflict):
    code, title = "busy", "Another operation on this file is in progress"


class ChecksumMismatch(InvalidInput):
    code, title = "checksum_mismatch", "The body does not match the expected checksum"


class LengthMismatch(InvalidInput):
    code, title = "length_mismatch", "The body length does not match the declared length"


class InsufficientStorage(ArtStoreError):
    status, code, title = 507, "insufficient_storage", "Not enough storage for this upload"


class TooLarge(ArtStoreError):
    status, code, title = 413, "too_large", "The upload exceeds the maximum size"


class RangeNotSatisfiable(ArtStoreError):
    status, code, title = 416, "range_not_satisfiable", "Range not satisfiable"
