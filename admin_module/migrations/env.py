"""Alembic environment of the admin module (its own database, its own chain)."""

from admin_module.models import metadata
from shared.alembic_env import run

run(metadata)
