"""Alembic environment of the storage element (its own database, its own chain)."""

from shared.alembic_env import run
from storage_element.models import metadata

run(metadata)
