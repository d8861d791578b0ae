"""Registry errors (problem+json codes)."""

from shared.errors import ArtStoreError, Conflict, NotFound


class StorageElementNotFound(NotFound):
    code, title = "storage_element_not_found", "Storage element not found"


class StorageElementUnreachable(ArtStoreError):
    status, code, title = 502, "storage_element_unreachable", "Storage element unreachable"


class StorageElementNotEmpty(Conflict):
    code, title = "storage_element_not_empty", "Storage element still holds files"


class RegistrationMismatch(Conflict):
    code, title = "registration_mismatch", "The URL answers with another storage element id"
