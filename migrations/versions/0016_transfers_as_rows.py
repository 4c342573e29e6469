"""transfers as rows: one per share of a payout, and the co-authors' shares

A payout's transfer (key, destination, Stripe id) moves to a row of its own, so that a payout
shared with co-authors makes one transfer per person, each exactly-once. Existing payouts get
one row: the whole, for the awardee, with the key and transfer they already have.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('co_author_shares',
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('basis_points', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('basis_points > 0 AND basis_points < 10000', name=op.f('ck_co_author_shares_share_range')),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_co_author_shares_award_id_awards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_co_author_shares_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('award_id', 'user_id', name=op.f('pk_co_author_shares'))
    )
    op.create_table('payout_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payout_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('basis_points', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('destination_account_id', sa.String(length=100), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('transfer_id', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('requested', 'sent', 'confirmed')", name=op.f('ck_payout_transfers_state_known')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_payout_transfers_amount_positive')),
    sa.CheckConstraint('basis_points > 0 AND basis_points <= 10000', name=op.f('ck_payout_transfers_share_range')),
    sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_payout_transfers_payout_id_payouts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payout_transfers_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_transfers')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payout_transfers_idempotency_key')),
    sa.UniqueConstraint('payout_id', 'user_id', name='uq_payout_transfers_recipient')
    )
    with op.batch_alter_table('payout_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_transfers_payout_id'), ['payout_id'], unique=False)

    # Each payout that moved to releasing had its key written then: it becomes its one share.
    op.execute(
        """
        INSERT INTO payout_transfers (payout_id, user_id, basis_points, amount_cents,
            destination_account_id, idempotency_key, transfer_id, state, sent_at,
            confirmed_at, created_at)
        SELECT id, developer_user_id, 10000, amount_cents - fee_cents, destination_account_id,
            transfer_idempotency_key, transfer_id,
            CASE WHEN transfer_confirmed_at IS NOT NULL THEN 'confirmed'
                 WHEN transfer_id <> '' THEN 'sent' ELSE 'requested' END,
            released_at, transfer_confirmed_at, updated_at
        FROM payouts
        WHERE transfer_idempotency_key IS NOT NULL AND developer_user_id IS NOT NULL
        """
    )
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_payouts_transfer_idempotency_key'), type_='unique')
        batch_op.drop_column('destination_account_id')
        batch_op.drop_column('transfer_id')
        batch_op.drop_column('transfer_idempotency_key')



def downgrade() -> None:
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_idempotency_key', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('transfer_id', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('destination_account_id', sa.String(length=100), nullable=False, server_default=''))
        batch_op.create_unique_constraint(batch_op.f('uq_payouts_transfer_idempotency_key'), ['transfer_idempotency_key'])
    # A payout keeps its first share's transfer (a shared payout cannot be told apart any more).
    for column, source in (
        ('transfer_idempotency_key', 'idempotency_key'),
        ('transfer_id', 'transfer_id'),
        ('destination_account_id', 'destination_account_id'),
    ):
        op.execute(
            f"UPDATE payouts SET {column} = (SELECT t.{source} FROM payout_transfers t "
            "WHERE t.payout_id = payouts.id ORDER BY t.id LIMIT 1) "
            "WHERE EXISTS (SELECT 1 FROM payout_transfers t WHERE t.payout_id = payouts.id)"
        )

    with op.batch_alter_table('payout_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_transfers_payout_id'))

    op.drop_table('payout_transfers')
    op.drop_table('co_author_shares')
