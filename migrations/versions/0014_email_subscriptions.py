"""email subscriptions: filters, double opt-in, and the emails owed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('skills', sa.Text(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('amount_min_cents', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('matched_until', UTCDateTime(), nullable=True),
    sa.Column('ended_reason', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('confirmed_at', UTCDateTime(), nullable=True),
    sa.Column('ended_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint('amount_min_cents IS NULL OR amount_min_cents >= 0', name=op.f('ck_subscriptions_amount_min')),
    sa.CheckConstraint("frequency IN ('instant', 'daily')", name=op.f('ck_subscriptions_frequency_known')),
    sa.CheckConstraint("state IN ('pending', 'confirmed', 'ended')", name=op.f('ck_subscriptions_state_known')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_subscriptions_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_due', ['state', 'frequency', 'matched_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_email'), ['email'], unique=False)

    op.create_table('subscription_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_emails_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_emails')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_subscription_emails_dedupe_key'))
    )
    with op.batch_alter_table('subscription_emails', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_emails_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_emails_subscription_id'), ['subscription_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('subscription_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_emails_subscription_id'))
        batch_op.drop_index('ix_subscription_emails_due')

    op.drop_table('subscription_emails')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_email'))
        batch_op.drop_index('ix_subscriptions_due')

    op.drop_table('subscriptions')
