"""claims: disagreements about delivery, and the part of a payout a claim gives back

A claim is opened by either side of a contract and resolved by two administrators; a partial
release gives part of the payout back to the team, recorded on the payout.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = '0019'
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('payout_id', sa.Integer(), nullable=False),
    sa.Column('opened_by_user_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('money_held', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('resolution', sa.String(length=10), nullable=False),
    sa.Column('developer_cents', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('proposed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', UTCDateTime(), nullable=False),
    sa.Column('resolved_at', UTCDateTime(), nullable=True),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('open', 'proposed', 'resolved')", name=op.f('ck_claims_state_known')),
    sa.CheckConstraint("side IN ('developer', 'team')", name=op.f('ck_claims_side_known')),
    sa.CheckConstraint("resolution IN ('', 'release', 'partial', 'refund')", name=op.f('ck_claims_resolution_known')),
    sa.CheckConstraint('developer_cents >= 0', name=op.f('ck_claims_developer_cents_range')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_claims_opportunity_id_opportunities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_claims_payout_id_payouts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['opened_by_user_id'], ['users.id'], name=op.f('fk_claims_opened_by_user_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proposed_by_user_id'], ['users.id'], name=op.f('fk_claims_proposed_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['confirmed_by_user_id'], ['users.id'], name=op.f('fk_claims_confirmed_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index('uq_claims_one_open', ['opportunity_id'], unique=True, postgresql_where=sa.text("state <> 'resolved'"))

    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partial_refund_cents', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('partial_refund_id', sa.String(length=100), nullable=False, server_default=''))
        batch_op.create_check_constraint(
            'partial_refund_range', 'partial_refund_cents >= 0 AND partial_refund_cents < amount_cents'
        )


def downgrade() -> None:
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payouts_partial_refund_range'), type_='check')
        batch_op.drop_column('partial_refund_id')
        batch_op.drop_column('partial_refund_cents')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('uq_claims_one_open', postgresql_where=sa.text("state <> 'resolved'"))
        batch_op.drop_index(batch_op.f('ix_claims_opportunity_id'))
    op.drop_table('claims')
