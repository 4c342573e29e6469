"""inbox server defaults

The webhook routes insert only what they received (on PostgreSQL straight through psycopg,
see app.db.PostgresInbox); the database fills in the processing columns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOXES = ("webhook_deliveries", "stripe_events")
DEFAULTS = {
    "received_at": sa.text("CURRENT_TIMESTAMP"),
    "status": sa.text("'pending'"),
    "attempts": sa.text("0"),
    "outcome": sa.text("''"),
}


def upgrade() -> None:
    for table in INBOXES:
        with op.batch_alter_table(table) as batch:
            for column, default in DEFAULTS.items():
                batch.alter_column(column, server_default=default)


def downgrade() -> None:
    for table in INBOXES:
        with op.batch_alter_table(table) as batch:
            for column in DEFAULTS:
                batch.alter_column(column, server_default=None)
