"""award reason language: the reason is marked with the language it was written in

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('awards') as batch:
        batch.add_column(
            sa.Column('reason_lang', sa.String(length=5), server_default='', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('awards') as batch:
        batch.drop_column('reason_lang')
