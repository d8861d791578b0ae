"""Alembic environment of the ingester (its own database, its own chain)."""

from ingester_module.models import metadata
from shared.alembic_env import run

run(metadata)
