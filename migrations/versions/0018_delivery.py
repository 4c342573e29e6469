"""delivery: check-ins, the quiet-days setting, missed delivery, replaced awards kept as
history, and the held money given back when the next-ranked proposal costs less

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = '0018'
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = (
    "'draft', 'in_peer_review', 'published', 'evaluating', 'awarded', 'in_progress', 'merged', "
    "'paid', 'cancelled', 'unsuccessful', 'on_hold'"
)


def _states(extra: str) -> str:
    return f"state IN ({STATES}{extra})"


def upgrade() -> None:
    with op.batch_alter_table('opportunities') as batch:
        batch.drop_constraint(op.f('ck_opportunities_state_known'), type_='check')
        batch.create_check_constraint('state_known', _states(", 'missed_delivery'"))
    with op.batch_alter_table('teams') as batch:
        batch.add_column(
            sa.Column('quiet_days_warning', sa.Integer(), server_default='7', nullable=False)
        )
        batch.create_check_constraint('quiet_days_range', 'quiet_days_warning BETWEEN 1 AND 90')
    with op.batch_alter_table('awards') as batch:
        batch.add_column(sa.Column('delivery_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('ended_at', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('end_reason', sa.Text(), server_default='', nullable=False))
        batch.drop_constraint(op.f('uq_awards_opportunity_id'), type_='unique')
        batch.create_index(
            'uq_awards_one_current',
            ['opportunity_id'],
            unique=True,
            postgresql_where=sa.text('ended_at IS NULL'),
            sqlite_where=sa.text('ended_at IS NULL'),
        )
    op.create_table(
        'check_ins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('opportunity_id', sa.Integer(), nullable=False),
        sa.Column('award_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('author_user_id', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('github_pull_request_number', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint("source IN ('awardee', 'github')", name=op.f('ck_check_ins_source_known')),
        sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_check_ins_award_id_awards'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_check_ins_author_user_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_check_ins_opportunity_id_opportunities'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_check_ins')),
    )
    with op.batch_alter_table('check_ins') as batch:
        batch.create_index('ix_check_ins_opportunity_newest', ['opportunity_id', 'created_at'])
    op.create_table(
        'payout_adjustments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payout_id', sa.Integer(), nullable=False),
        sa.Column('award_id', sa.Integer(), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('idempotency_key', sa.String(length=100), nullable=False),
        sa.Column('refund_id', sa.String(length=100), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('refunded_at', UTCDateTime(), nullable=True),
        sa.CheckConstraint('amount_cents > 0', name=op.f('ck_payout_adjustments_amount_positive')),
        sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_payout_adjustments_award_id_awards'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_payout_adjustments_payout_id_payouts'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_adjustments')),
        sa.UniqueConstraint('award_id', name=op.f('uq_payout_adjustments_award_id')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_payout_adjustments_idempotency_key')),
    )
    with op.batch_alter_table('payout_adjustments') as batch:
        batch.create_index('ix_payout_adjustments_pending', ['refund_id', 'id'])
        batch.create_index(batch.f('ix_payout_adjustments_payout_id'), ['payout_id'])


def downgrade() -> None:
    op.drop_table('payout_adjustments')
    op.drop_table('check_ins')
    # Ended awards cannot live under the old one-award rule: the current one stays.
    op.execute('DELETE FROM awards WHERE ended_at IS NOT NULL')
    with op.batch_alter_table('awards') as batch:
        batch.drop_index('uq_awards_one_current')
        batch.create_unique_constraint('uq_awards_opportunity_id', ['opportunity_id'])
        batch.drop_column('end_reason')
        batch.drop_column('ended_at')
        batch.drop_column('delivery_date')
    with op.batch_alter_table('teams') as batch:
        batch.drop_constraint(op.f('ck_teams_quiet_days_range'), type_='check')
        batch.drop_column('quiet_days_warning')
    op.execute("UPDATE opportunities SET state = 'in_progress' WHERE state = 'missed_delivery'")
    with op.batch_alter_table('opportunities') as batch:
        batch.drop_constraint(op.f('ck_opportunities_state_known'), type_='check')
        batch.create_check_constraint('state_known', _states(''))
