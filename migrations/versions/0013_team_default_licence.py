"""team default licence: the SPDX licence a team's new drafts start with

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('teams') as batch:
        batch.add_column(
            sa.Column('default_licence', sa.String(length=60), server_default='MIT', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('teams') as batch:
        batch.drop_column('default_licence')
