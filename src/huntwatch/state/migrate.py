"""Alembic migrations configured in code, so an installed Huntwatch needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from huntwatch.state import models as _models  # noqa: F401  (every table on Base.metadata)
from huntwatch.state.base import Base

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The schema the project skeleton created with ``create_all`` before migrations existed.
BASELINE = "0001"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as con:
        return MigrationContext.configure(con).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``.

    A database made by ``create_all`` before it stamped its version has tables but no history: with every
    table of the models it is taken as the head, otherwise as the baseline the skeleton created.
    """
    cfg = alembic_config(engine)
    with engine.begin() as con:
        cfg.attributes["connection"] = con
        if MigrationContext.configure(con).get_current_revision() is None:
            existing = set(inspect(con).get_table_names())
            if set(Base.metadata.tables) <= existing:
                command.stamp(cfg, "head")
            elif "tenants" in existing:
                command.stamp(cfg, BASELINE)
        command.upgrade(cfg, revision)


def create_current(engine: Engine) -> None:
    """The current schema, quickly: a fresh database gets the models' tables and is stamped at head (a test
    proves the migrations build the same schema); a database with tables is upgraded instead."""
    cfg = alembic_config(engine)
    with engine.begin() as con:
        cfg.attributes["connection"] = con
        if not inspect(con).get_table_names():
            Base.metadata.create_all(con)
            command.stamp(cfg, "head")
            return
    upgrade(engine)
