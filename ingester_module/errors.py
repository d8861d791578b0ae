"""The ingester's domain errors (rendered as problem+json by shared.errors)."""

from __future__ import annotations

from typing import Any

from shared.errors import ArtStoreError, Conflict, InvalidInput, NotFound, ServiceUnavailable


class NoStorageAvailable(ServiceUnavailable):
    code, title = "no_storage_available", "No storage element can take this file"


class StorageUnavailable(ServiceUnavailable):
    code, title = "storage_unavailable", "A storage element holding the file is unavailable"

    RETRY_AFTER = "5"  # seconds: about one health poll, after which discovery knows more

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": self.RETRY_AFTER}, **extra)


class UploadTooLarge(ArtStoreError):
    status, code, title = 413, "too_large", "The upload exceeds the maximum size"


class ClientGone(ArtStoreError):
    status, code, title = 400, "client_disconnected", "The client went away before the upload ended"


class InvalidField(InvalidInput):
    code, title = "invalid_field", "A field of the request is invalid"


class FileNotFound(NotFound):
    code, title = "file_not_found", "File not found"


class SagaNotFound(NotFound):
    code, title = "saga_not_found", "Saga not found"


class UploadNotFound(NotFound):
    code, title = "upload_not_found", "Upload not found"


class RetentionActive(Conflict):
    code, title = "retention_active", "The file's retention has not expired"


class LegalHold(Conflict):
    code, title = "legal_hold", "The file is under legal hold"


class ModeForbids(Conflict):
    code, title = "mode_forbids", "The storage element's mode forbids this operation"


class NotTemporary(Conflict):
    code, title = "not_temporary", "The file is not temporary"


class SagaInProgress(Conflict):
    code, title = "saga_in_progress", "Another saga is working on this file"


class OffsetMismatch(Conflict):
    code, title = "offset_mismatch", "Upload-Offset does not match the upload's offset"


class StorageRejected(ArtStoreError):
    """An SE answered an error we pass on with its own status and code."""

    status, code, title = 502, "storage_error", "The storage element refused the request"


class AttributesNotApplied(ArtStoreError):
    """The upload committed, but the follow-up PATCH of its late fields failed (ADR 0003).

    502 like :class:`StorageRejected` (the SE failed, not the client), with its own code:
    the body names the stored ``file_id`` and the fields it lacks, so the client completes
    it with a PATCH (or deletes it) instead of uploading a second copy.
    """

    status, code, title = 502, "attributes_not_applied", "The file was stored without some of its attributes"
