"""audit outbox: park events the admin refuses for good (failed_at)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from shared.outbox import add_outbox_parking_v2, drop_outbox_parking_v2

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_parking_v2(op)


def downgrade() -> None:
    drop_outbox_parking_v2(op)
