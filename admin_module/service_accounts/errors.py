"""Errors of the service-accounts domain."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, NotFound


class ServiceAccountNotFound(NotFound):
    code, title = "service_account_not_found", "Service account not found"


class ClientIdTaken(Conflict):
    code, title = "client_id_taken", "Client id already exists"


class UnknownScope(InvalidInput):
    code, title = "unknown_scope", "Unknown scope"
