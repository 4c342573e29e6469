"""Done means 2: upgrade, downgrade to base, upgrade again; and no drift from the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

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


def test_readiness_reads_the_revisions_as_alembic_does(scratch_url: str) -> None:
    """The readiness probe reads the head from file names and the database's revision with
    one query, not through Alembic: both must agree with Alembic at every step of the chain."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrations.alembic_config(scratch_url))
    head = script.get_current_head()
    assert head is not None
    assert migrations.head_revision() == head
    chain = list(reversed(list(script.walk_revisions())))
    assert [r.revision for r in chain] == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    engine = make_engine(scratch_url)
    try:
        with engine.connect() as connection:
            assert migrations.current_revision(connection) is None
        for revision in ("0001", "0010", head):
            migrations.upgrade(scratch_url, revision)
            with engine.connect() as connection:
                expected = MigrationContext.configure(connection).get_current_revision()
                assert migrations.current_revision(connection) == expected == revision
    finally:
        engine.dispose()


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


def test_stored_links_that_are_not_web_addresses_are_dropped(scratch_url: str) -> None:
    """Issue 14, defect 1: rows saved by the old form carried javascript: and data: links."""
    migrations.upgrade(scratch_url, "0010")
    engine = make_engine(scratch_url)
    stored = (
        "https://example.org/a\njavascript:alert(1)\r\n data:text/html,<b>x</b>\n"
        " http://example.org/b \n"
    )
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO teams (id, slug, name, name_fr, organization, description, "
                    "description_fr, created_at) VALUES (1, 't', 'T', '', '', '', '', :now)"
                ),
                {"now": "2026-11-01 00:00:00"},
            )
            for row_id, links in ((1, stored), (2, "javascript:alert(2)"), (3, "")):
                connection.execute(
                    text(
                        "INSERT INTO opportunities (id, team_id, state, title, title_fr, "
                        "problem_statement, problem_statement_fr, context_links, "
                        "acceptance_criteria, acceptance_criteria_fr, remote, location, "
                        "amount_cents, currency, proposal_deadline, github_repository_full_name, "
                        "license_spdx, search_document, created_at, updated_at) VALUES (:id, 1, "
                        "'draft', 'O', '', '', '', :links, '', '', true, '', 100, 'CAD', :now, "
                        "'', '', '', :now, :now)"
                    ),
                    {"id": row_id, "links": links, "now": "2026-11-01 00:00:00"},
                )
        migrations.upgrade(scratch_url)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, context_links FROM opportunities"))
            after = {int(row_id): str(links) for row_id, links in rows}
    finally:
        engine.dispose()
    assert after == {1: "https://example.org/a\nhttp://example.org/b", 2: "", 3: ""}


def test_postgres_has_the_full_text_index(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        names = {index["name"] for index in inspect(engine).get_indexes("opportunities")}
    finally:
        engine.dispose()
    assert SEARCH_INDEX in names
