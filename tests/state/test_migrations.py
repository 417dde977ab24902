from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, select

from huntwatch.state import Base, Database, Tenant, User
from huntwatch.state.migrate import current_revision, head_revision


def test_upgrade_empty_database_matches_models(db_url):
    db = Database(db_url)
    db.upgrade()
    assert current_revision(db.engine) == head_revision()
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    db.engine.dispose()


def test_upgrade_keeps_data_of_previous_schema(db_url):
    db = Database(db_url)
    db.upgrade("0001")
    with db.session() as s:
        s.add(Tenant(slug="acme", name="Acme", created_at=dt.datetime(2026, 1, 1)))
    db.upgrade()
    with db.session() as s:
        assert s.scalar(select(Tenant.name).where(Tenant.slug == "acme")) == "Acme"
        s.add(User(email="a@acme.test", role="tenant_admin", password_hash="x", tenant_id=1))
    db.engine.dispose()


def test_database_made_by_create_all_before_migrations_is_adopted(tmp_path):
    """The skeleton's create_all databases carry no version: they are stamped as the baseline, then upgraded."""
    from huntwatch.state.migrate import BASELINE, upgrade

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db.engine, BASELINE)  # the skeleton's schema, then forget the history as create_all never had it
    with db.engine.begin() as con:
        con.exec_driver_sql("DROP TABLE alembic_version")
    assert current_revision(db.engine) is None
    upgrade(db.engine)
    assert current_revision(db.engine) == head_revision() != BASELINE
    assert "users" in inspect(db.engine).get_table_names()
    # and one made by an older create_all with every current table is taken as the head
    full = Database(f"sqlite:///{tmp_path / 'full.db'}")
    Base.metadata.create_all(full.engine)
    upgrade(full.engine)
    assert current_revision(full.engine) == head_revision()


def test_sqlite_runs_in_wal_mode(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    with db.engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_migrations_build_exactly_the_models(db_url):
    """create_all stamps fresh databases at head, which is only honest if the two schemas agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(db_url)
    db.upgrade()
    with db.engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    db.engine.dispose()


def test_create_all_is_stamped_and_upgradable(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.create_all()
    assert current_revision(db.engine) == head_revision()
    db.create_all()  # idempotent
    db.upgrade()
    with db.session() as s:
        s.add(Tenant(slug="t", name="T"))


def test_every_migration_downgrades_and_upgrades_again(db_url):
    from alembic import command

    from huntwatch.state.migrate import alembic_config

    db = Database(db_url)
    db.upgrade()
    cfg = alembic_config(db.engine)
    with db.engine.begin() as con:
        cfg.attributes["connection"] = con
        command.downgrade(cfg, "base")
    assert current_revision(db.engine) is None
    assert "tenants" not in inspect(db.engine).get_table_names()
    db.upgrade()
    assert current_revision(db.engine) == head_revision()
    db.engine.dispose()
