"""Throwaway databases for tests of any package: a fresh SQLite file or a fresh PostgreSQL database."""

from __future__ import annotations

import atexit
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def postgres_available(host: str = PG_HOST, port: int = PG_PORT) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def throwaway_postgres(
    host: str = PG_HOST, port: int = PG_PORT, user: str = PG_USER, template: str | None = None
) -> Iterator[str]:
    """Create database ``hw_test_<random>`` (a copy of ``template`` if given), yield its URL, drop it afterwards."""
    import psycopg

    name = "hw_test_" + secrets.token_hex(6)
    admin = f"host={host} port={port} user={user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield f"postgresql+psycopg://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_templates: dict[str, str] = {}


def _sqlite_template() -> str:
    """A migrated SQLite file made once per process; tests copy it instead of migrating again (~1 s each)."""
    if "sqlite" not in _templates:
        from huntwatch.state.db import Database

        directory = Path(tempfile.mkdtemp(prefix="hw_tmpl_"))
        atexit.register(shutil.rmtree, directory, True)
        db = Database(f"sqlite:///{directory / 'template.db'}")
        db.upgrade()
        with db.engine.connect() as con:
            con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
        _templates["sqlite"] = str(directory / "template.db")
    return _templates["sqlite"]


def _postgres_template(host: str, port: int, user: str) -> str:
    """A migrated PostgreSQL database made once per process, used as ``CREATE DATABASE ... TEMPLATE``."""
    if "postgresql" not in _templates:
        import psycopg

        from huntwatch.state.db import Database

        name = "hw_tmpl_" + secrets.token_hex(6)
        admin = f"host={host} port={port} user={user} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')

        def _drop() -> None:
            with psycopg.connect(admin, autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        atexit.register(_drop)
        db = Database(f"postgresql+psycopg://{user}@{host}:{port}/{name}")
        db.upgrade()
        db.engine.dispose()
        _templates["postgresql"] = name
    return _templates["postgresql"]


@contextmanager
def database_url(
    kind: str, directory: Path, *, postgres_required: bool = False, migrated: bool = False
) -> Iterator[str]:
    """A fresh database URL of ``kind`` (sqlite | postgresql), empty or ``migrated`` to the head revision.

    Skips the test if PostgreSQL is absent and not required (CI requires it).
    """
    import pytest

    if kind == "sqlite":
        path = directory / "state.db"
        if migrated:
            shutil.copyfile(_sqlite_template(), path)
        yield f"sqlite:///{path}"
        return
    if not postgres_available():
        if postgres_required:
            pytest.fail("PostgreSQL must be reachable on 127.0.0.1:5432")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    template = _postgres_template(PG_HOST, PG_PORT, PG_USER) if migrated else None
    with throwaway_postgres(template=template) as url:
        yield url
