"""Tables of the query module (SQLAlchemy Core). Migrations are written by hand."""

from shared.outbox import metadata

__all__ = ["metadata"]
