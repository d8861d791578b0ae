"""Tables of the admin module (SQLAlchemy Core). Migrations are written by hand."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = sa.MetaData()

TZ = sa.DateTime(timezone=True)

users = sa.Table(
    "users",
    metadata,
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
sa.Index("ux_users_username_lower", sa.func.lower(users.c.username), unique=True)

password_history = sa.Table(
    "password_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Index("ix_password_history_user", "user_id", "id"),
)

service_accounts = sa.Table(
    "service_accounts",
    metadata,
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

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("family_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("expires_at", TZ, nullable=False),
    sa.Column("used_at", TZ),
    sa.Column("revoked_at", TZ),
    sa.Column("revoked_reason", sa.Text),
    sa.Index("ix_refresh_tokens_user", "user_id"),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    sa.Column("algorithm", sa.Text, nullable=False),
    sa.Column("public_jwk", JSONB, nullable=False),
    sa.Column("private_key_encrypted", sa.LargeBinary, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("retired_at", TZ),
    # When the last token this key signed has expired: after this it leaves the JWKS.
    sa.Column("verify_until", TZ),
)
# Migration 0002 also adds a partial unique index: at most one key with retired_at IS NULL.

audit_events = sa.Table(
    "audit_events",
    metadata,
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
    # The service account that delivered the event (None for the admin module's own events).
    sa.Column("submitted_by", sa.Text),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Index("ix_audit_events_action", "action", "seq"),
    sa.Index("ix_audit_events_actor", "actor_username", "seq"),
    sa.Index("ix_audit_events_occurred", "occurred_at"),
)

# The newest link of the audit chain, MACed with a key derived from the key-encryption key
# (which is not in the database): removing the newest rows, or appending rows outside the
# admin module, leaves the chain's end and this head disagreeing (audit/chain.py).
audit_chain_head = sa.Table(
    "audit_chain_head",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("mac", sa.Text, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.CheckConstraint("id = 1", name="ck_audit_chain_head_single_row"),
)

# Shared counters for the token endpoint's rate limit when Redis is absent.
rate_limit_counters = sa.Table(
    "rate_limit_counters",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expires_at", TZ, nullable=False),
)

# Password-reset tokens when Redis is absent (hashed, single use).
password_reset_tokens = sa.Table(
    "password_reset_tokens",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("expires_at", TZ, nullable=False),
    sa.Column("used_at", TZ),
)
