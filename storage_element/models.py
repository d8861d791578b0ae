"""Tables of the storage element (SQLAlchemy Core). Migrations are written by hand."""

from storage_element.index import tables
from storage_element.index.tables import metadata

__all__ = ["metadata", "tables"]
