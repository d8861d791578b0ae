"""search: index of owner usernames (owner=<username> without a sequential scan)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

``owner=<X>`` matches a file whose owner id or owner username is X. Only owner ids were
indexed, so a username (and the exact count of matches up to the total cap) read the whole
table: 0.6-0.9 s at 1,000,000 rows. The search resolves X to the owner ids it names first
(a loose scan of this index, one probe per distinct id) and then filters on
``owner_username = X AND owner_id = <id>``: equality on both leading columns, rows already
in ``created_at, file_id`` order for the default sort, and the count of matches read from
the index alone.

A plain ``CREATE INDEX``: the catalog's writes (feed runners) wait while it is built, a
few seconds at 1,000,000 rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_catalog_files_owner_username",
        "catalog_files",
        ["owner_username", "owner_id", "created_at", "file_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_catalog_files_owner_username", table_name="catalog_files")
