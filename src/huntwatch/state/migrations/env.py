"""Alembic environment, driven from ``huntwatch.state.migrate``: the connection arrives in the config."""

from __future__ import annotations

from alembic import context

from huntwatch.state import models as _models  # noqa: F401  (registers every table on Base.metadata)
from huntwatch.state.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
