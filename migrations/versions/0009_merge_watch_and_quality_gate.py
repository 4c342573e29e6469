"""merge watch, quality gate, repository connection, default branch

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('opportunities') as batch:
        batch.add_column(
            sa.Column(
                'require_passing_checks', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch.add_column(sa.Column('github_pull_request_number', sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                'github_default_branch', sa.String(length=255), server_default='', nullable=False
            )
        )
    with op.batch_alter_table('payouts') as batch:
        batch.add_column(sa.Column('release_due_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.add_column(sa.Column('repository_id', sa.BigInteger(), nullable=True))
        batch.create_index(
            'ix_webhook_deliveries_repository_id', ['repository_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.drop_index('ix_webhook_deliveries_repository_id')
        batch.drop_column('repository_id')
    with op.batch_alter_table('payouts') as batch:
        batch.drop_column('release_due_at')
    with op.batch_alter_table('opportunities') as batch:
        batch.drop_column('github_default_branch')
        batch.drop_column('github_pull_request_number')
        batch.drop_column('require_passing_checks')
