"""Done means 2: upgrade, downgrade to base, upgrade again; and no drift from the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app import migrations
from app.db import make_engine
from app.models import Base
from app.models.opportunity import SEARCH_INDEX
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["postgresql", "sqlite"])
def scratch_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('mig') / 'scratch.sqlite3'}"
    postgres: PostgresServer = request.getfixturevalue("postgres")
    return postgres.create_database("devex_migrations")


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    migrations.upgrade(scratch_url)
    assert {"opportunities", "teams", "users", "audit_events"} <= _tables(scratch_url)
    migrations.downgrade(scratch_url, "base")
    assert _tables(scratch_url) <= {"alembic_version"}
    migrations.upgrade(scratch_url)
    assert "opportunities" in _tables(scratch_url)


def test_models_and_migrations_do_not_drift(scratch_url: str) -> None:
    migrations.upgrade(scratch_url)
    engine = make_engine(scratch_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": migrations.include_object}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_postgres_has_the_full_text_index(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        names = {index["name"] for index in inspect(engine).get_indexes("opportunities")}
    finally:
        engine.dispose()
    assert SEARCH_INDEX in names
