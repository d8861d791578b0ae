"""audit chain head: the newest link, MACed outside the database's reach

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The row itself is written by the admin module at start-up and on every append: its MAC
    # needs the key-encryption key, which migrations do not have.
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("mac", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_chain_head_single_row"),
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
