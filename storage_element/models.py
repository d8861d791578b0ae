"""Tables of the storage element (SQLAlchemy Core). Migrations are written by hand."""

from shared.outbox import metadata

__all__ = ["metadata"]
