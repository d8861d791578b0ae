"""identity: users, password history, service accounts, refresh tokens, signing keys, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("full_name", sa.Text),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("ldap_dn", sa.Text),
        sa.Column("last_sync_at", TZ),
        sa.Column("password_hash", sa.Text),
        sa.Column("password_changed_at", TZ),
        sa.Column("failed_login_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed_window_started_at", TZ),
        sa.Column("locked_until", TZ),
        sa.Column("last_login_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint("role IN ('ADMIN', 'OPERATOR', 'USER')", name="ck_users_role"),
        sa.CheckConstraint("status IN ('ACTIVE', 'INACTIVE', 'LOCKED', 'DELETED')", name="ck_users_status"),
        sa.CheckConstraint("source IN ('LOCAL', 'LDAP')", name="ck_users_source"),
    )
    op.execute("CREATE UNIQUE INDEX ux_users_username_lower ON users (lower(username))")
    op.create_table(
        "password_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_password_history_user", "password_history", ["user_id", "id"])
    op.create_table(
        "service_accounts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("client_id", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.Text),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("fleet", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("secret_expires_at", TZ),
        sa.Column("secret_rotated_at", TZ),
        sa.Column("last_used_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint("status IN ('ACTIVE', 'SUSPENDED', 'DELETED')", name="ck_service_accounts_status"),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("family_id", UUID(as_uuid=True), nullable=False),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ),
        sa.Column("revoked_at", TZ),
        sa.Column("revoked_reason", sa.Text),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user", "refresh_tokens", ["user_id"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.Text, primary_key=True),
        sa.Column("algorithm", sa.Text, nullable=False),
        sa.Column("public_jwk", JSONB, nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("retired_at", TZ),
        sa.Column("verify_until", TZ),
    )
    # At most one signing (active) key at any time.
    op.execute(
        "CREATE UNIQUE INDEX ux_signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL"
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text),
        sa.Column("actor_username", sa.Text),
        sa.Column("actor_kind", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("client_ip", sa.Text),
        sa.Column("user_agent", sa.Text),
        sa.Column("request_id", sa.Text),
        sa.Column("details", JSONB, nullable=False),
        sa.Column("submitted_by", sa.Text),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_events_action", "audit_events", ["action", "seq"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor_username", "seq"])
    op.create_index("ix_audit_events_occurred", "audit_events", ["occurred_at"])
    # Append-only: the application never updates or deletes audit rows, and the database refuses
    # it too. Someone who can disable triggers can still edit rows; the hash chain reveals that.
    op.execute(
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_table(
        "password_reset_tokens",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column(
            "user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ),
    )


def downgrade() -> None:
    for table in (
        "password_reset_tokens",
        "rate_limit_counters",
        "audit_events",
        "signing_keys",
        "refresh_tokens",
        "service_accounts",
        "password_history",
        "users",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION audit_events_append_only()")
