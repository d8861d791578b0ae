"""sagas

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("state IN ('pending', 'running')")


def upgrade() -> None:
    op.create_table(
        "sagas",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("phase", sa.Text, nullable=False, server_default="forward"),
        sa.Column("file_id", sa.Text, nullable=False),
        sa.Column("batch_id", UUID(as_uuid=True)),
        sa.Column("actor", JSONB, nullable=False),
        sa.Column("params", JSONB, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("steps", JSONB, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("kind IN ('finalize', 'transfer', 'delete')", name="ck_sagas_kind"),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'completed', 'failed', 'compensated')", name="ck_sagas_state"
        ),
    )
    op.create_index("ix_sagas_open", "sagas", ["next_attempt_at"], postgresql_where=OPEN)
    op.create_index("ux_sagas_open_file", "sagas", ["file_id"], unique=True, postgresql_where=OPEN)
    op.create_index("ix_sagas_batch", "sagas", ["batch_id"], postgresql_where=sa.text("batch_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_table("sagas")
