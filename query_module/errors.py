"""Errors of the query module (rendered as problem+json by the shared handlers)."""

from __future__ import annotations

from shared.errors import ArtStoreError, Conflict, NotFound, ServiceUnavailable


class FileNotFound(NotFound):
    code, title = "file_not_found", "File not found"


class Archived(Conflict):
    code, title = "archived", "File is archived"


class Corrupt(Conflict):
    code, title = "corrupt", "File is corrupt"


class StorageUnavailable(ServiceUnavailable):
    code, title = "storage_unavailable", "Storage unavailable"


class LinksNotConfigured(ServiceUnavailable):
    code, title = "links_not_configured", "Signed links are not configured"


class InvalidCursor(ArtStoreError):
    status, code, title = 422, "invalid_cursor", "Invalid cursor"


class InvalidLink(ArtStoreError):
    status, code, title = 403, "invalid_link", "Invalid or expired download link"
