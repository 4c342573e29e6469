"""Backups: the README's pg_dump and pg_restore commands, run on the test PostgreSQL, give back
a database with the same rows, sequences and schema, which the app finds ready."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from app.migrations import head_revision
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.pay_on_pull import BID, in_progress_work
from tests.support.postgres import PostgresServer


def _libpq_url(sqlalchemy_url: str) -> str:
    """The same database as pg_dump and pg_restore name it (no "+psycopg" driver part)."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(postgres: PostgresServer, *command: str) -> None:
    # The client programs of the same installation as the server: a pg_dump older than the
    # server refuses to dump it.
    subprocess.run([str(postgres.bindir / command[0]), *command[1:]], check=True)


def _table_counts(connection: Connection) -> dict[str, int]:
    tables = connection.execute(
        text(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    ).scalars()
    return {
        table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()  # noqa: S608 - names from the catalogue
        for table in tables
    }


def _snapshot(url: str) -> dict[str, Any]:
    """What a restore must give back: rows, where each id sequence stands, the schema's
    constraints and indexes, the migration, and the money trail line by line."""
    engine = create_engine(url)
    with engine.connect() as connection:
        snapshot: dict[str, Any] = {
            "rows": _table_counts(connection),
            "sequences": dict(
                connection.execute(text("SELECT sequencename, last_value FROM pg_sequences")).all()
            ),
            # By name and kind: PostgreSQL words an IN-list CHECK differently once restored
            # (the same test, cast differently), so its text is no measure.
            "constraints": set(
                connection.execute(
                    text(
                        "SELECT conrelid::regclass::text, conname, contype FROM pg_constraint "
                        "WHERE connamespace = 'public'::regnamespace"
                    )
                ).all()
            ),
            "indexes": set(
                connection.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")
                ).scalars()
            ),
            "migration": connection.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar_one(),
            "ledger": connection.execute(
                text(
                    "SELECT id, payout_id, movement, account, amount_cents "
                    "FROM ledger_entries ORDER BY id"
                )
            ).all(),
            "opportunities": connection.execute(
                text("SELECT id, title, state, amount_cents FROM opportunities ORDER BY id")
            ).all(),
        }
    engine.dispose()
    return snapshot


def test_a_dump_restored_into_a_new_database_gives_back_everything_and_is_ready(
    postgres: PostgresServer,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    tmp_path: Path,
) -> None:
    # Funded work in progress, built through the money services: a team, people, an award,
    # payout accounts, a payout and its ledger.
    in_progress_work(db, settings, fake_stripe, fake_github)
    db.close()
    source = _snapshot(settings.database_url)
    rows = source["rows"]
    assert rows["opportunities"] == rows["awards"] == rows["payouts"] == 1
    # DESIGN: funding moves the contract's price (the bid) from the team into holding.
    holding = [line for line in source["ledger"] if line.account == "platform:holding"]
    assert [(line.movement, line.amount_cents) for line in holding] == [("funding", BID)]

    dump = tmp_path / "devex.dump"
    _run(
        postgres,
        "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--file={dump}",
        f"--dbname={_libpq_url(settings.database_url)}",
    )
    restored_url = postgres.create_database("devex_restored")
    _run(
        postgres,
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={_libpq_url(restored_url)}",
        str(dump),
    )

    assert _snapshot(restored_url) == source
    assert source["migration"] == head_revision()
    restored = settings.model_copy(update={"database_url": restored_url})
    with TestClient(create_app(restored)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "migration": head_revision()}
