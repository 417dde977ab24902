"""Throwaway databases for tests of any package: a fresh SQLite file or a fresh PostgreSQL database."""

from __future__ import annotations

import secrets
import socket
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
def throwaway_postgres(host: str = PG_HOST, port: int = PG_PORT, user: str = PG_USER) -> Iterator[str]:
    """Create database ``hw_test_<random>``, yield its SQLAlchemy URL, drop it afterwards."""
    import psycopg

    name = "hw_test_" + secrets.token_hex(6)
    admin = f"host={host} port={port} user={user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_url(kind: str, directory: Path, *, postgres_required: bool = False) -> Iterator[str]:
    """A fresh database URL of ``kind`` (sqlite | postgresql); skips the test if PostgreSQL is absent and not
    required (CI requires it)."""
    import pytest

    if kind == "sqlite":
        yield f"sqlite:///{directory / 'state.db'}"
        return
    if not postgres_available():
        if postgres_required:
            pytest.fail("PostgreSQL must be reachable on 127.0.0.1:5432")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    with throwaway_postgres() as url:
        yield url
