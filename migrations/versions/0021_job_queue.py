"""job queue: procrastinate's schema, on PostgreSQL only

The background jobs run from a PostgreSQL queue (app/queue.py). Its tables, functions and
triggers are the library's own schema, at the version the project pins; a later version of
the library ships its own migrations, applied in a migration of ours then. The embedded SQLite
setup runs the jobs in process and has no queue: there this migration does nothing.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
TYPES = (
    "procrastinate_job_to_defer_v1",
    "procrastinate_job_event_type",
    "procrastinate_job_status",
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgresql():
        # Straight to the driver, without parameters: the schema's functions hold colons and
        # percent signs, which a statement with parameters would read as placeholders.
        driver_connection = op.get_bind().connection.driver_connection
        assert driver_connection is not None
        driver_connection.execute(SchemaManager.get_schema())


def downgrade() -> None:
    if not _postgresql():
        return
    op.execute(f"DROP TABLE IF EXISTS {', '.join(TABLES)} CASCADE")
    # Every function and procedure of the schema, whatever the version created them.
    op.execute(
        """
        DO $$
        DECLARE routine regprocedure;
        BEGIN
            FOR routine IN SELECT p.oid::regprocedure FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE 'DROP ROUTINE ' || routine || ' CASCADE';
            END LOOP;
        END $$
        """
    )
    op.execute(f"DROP TYPE IF EXISTS {', '.join(TYPES)} CASCADE")
