"""declaration reviewed draft: an evaluator who peer reviewed the draft says so

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conflict_declarations') as batch:
        batch.add_column(
            sa.Column('reviewed_draft', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('conflict_declarations') as batch:
        batch.drop_column('reviewed_draft')
