"""Tables of the storage element (SQLAlchemy Core). Migrations are written by hand."""

from shared.outbox import metadata
from storage_element.index import tables

__all__ = ["metadata", "tables"]
