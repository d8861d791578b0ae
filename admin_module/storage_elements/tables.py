"""Tables of the registry and the fleet view (on the admin module's metadata)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from admin_module.models import metadata

storage_elements = sa.Table(
    "storage_elements",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # the SE's own stable id
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("mode", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # online | degraded | offline
    sa.Column("status_reason", sa.Text),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("priority_overridden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("name_overridden", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("info", JSONB, nullable=False),  # the SE's last /api/v1/info answer
    sa.Column("last_seen_at", sa.DateTime(timezone=True)),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# One row: the snapshot version, bumped in the transaction of every registry change, so
# it is monotonic across restarts and replicas.
registry_version = sa.Table(
    "registry_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

service_instances = sa.Table(
    "service_instances",
    metadata,
    sa.Column("instance_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
)
