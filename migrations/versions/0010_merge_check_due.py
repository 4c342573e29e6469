"""merge check due: work that starts is checked at once for a merge that came before it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("merge_check_due_at", UTCDateTime(), nullable=True))
    # Work already in progress may have been merged before it started: ask GitHub once.
    op.execute(
        sa.text(
            "UPDATE opportunities SET merge_check_due_at = CURRENT_TIMESTAMP "
            "WHERE state = 'in_progress'"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("merge_check_due_at")
