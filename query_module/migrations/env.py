"""Alembic environment of the query module (its own database, its own chain)."""

from query_module.models import metadata
from shared.alembic_env import run

run(metadata)
