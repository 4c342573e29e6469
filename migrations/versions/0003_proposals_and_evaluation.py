"""proposals and evaluation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('conflict_declarations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('has_conflict', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('declared_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_conflict_declarations_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conflict_declarations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict_declarations')),
    sa.UniqueConstraint('opportunity_id', 'user_id', name='uq_conflict_decl')
    )
    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('author_user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('approach', sa.Text(), nullable=False),
    sa.Column('experience', sa.Text(), nullable=False),
    sa.Column('links', sa.Text(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=True),
    sa.Column('contract_terms_version', sa.String(length=20), nullable=False),
    sa.Column('terms_accepted_at', UTCDateTime(), nullable=True),
    sa.Column('eligibility_attested_at', UTCDateTime(), nullable=True),
    sa.Column('submitted_at', UTCDateTime(), nullable=True),
    sa.Column('disqualified_reason', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'submitted', 'withdrawn', 'under_evaluation', 'awarded', 'not_awarded', 'disqualified')", name=op.f('ck_proposals_state_known')),
    sa.CheckConstraint('price_cents > 0', name=op.f('ck_proposals_price_positive')),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_proposals_author_user_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_proposals_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_author_user_id'), ['author_user_id'], unique=False)
        batch_op.create_index('ix_proposals_opportunity_state', ['opportunity_id', 'state'], unique=False)
        batch_op.create_index('uq_proposals_one_active', ['opportunity_id', 'author_user_id'], unique=True, postgresql_where=sa.text("state <> 'withdrawn'"), sqlite_where=sa.text("state <> 'withdrawn'"))

    op.create_table('rubric_criteria',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('label_fr', sa.String(length=200), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('is_price', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('weight > 0 AND weight <= 100', name=op.f('ck_rubric_criteria_weight_range')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_rubric_criteria_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('opportunity_id', 'key', name=op.f('pk_rubric_criteria'))
    )
    op.create_table('awards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('awarded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('awarded_at', UTCDateTime(), nullable=False),
    sa.Column('accept_by', UTCDateTime(), nullable=False),
    sa.Column('accepted_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['awarded_by_user_id'], ['users.id'], name=op.f('fk_awards_awarded_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_awards_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_awards_proposal_id_proposals'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awards')),
    sa.UniqueConstraint('opportunity_id', name=op.f('uq_awards_opportunity_id'))
    )
    op.create_table('evaluation_submissions',
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('evaluator_user_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['evaluator_user_id'], ['users.id'], name=op.f('fk_evaluation_submissions_evaluator_user_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_evaluation_submissions_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('proposal_id', 'evaluator_user_id', name=op.f('pk_evaluation_submissions'))
    )
    op.create_table('scores',
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('evaluator_user_id', sa.Integer(), nullable=False),
    sa.Column('criterion_key', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.CheckConstraint('score >= 0 AND score <= 5', name=op.f('ck_scores_score_range')),
    sa.ForeignKeyConstraint(['evaluator_user_id'], ['users.id'], name=op.f('fk_scores_evaluator_user_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_scores_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('proposal_id', 'evaluator_user_id', 'criterion_key', name=op.f('pk_scores'))
    )


def downgrade() -> None:
    op.drop_table('scores')
    op.drop_table('evaluation_submissions')
    op.drop_table('awards')
    op.drop_table('rubric_criteria')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index('uq_proposals_one_active', postgresql_where=sa.text("state <> 'withdrawn'"), sqlite_where=sa.text("state <> 'withdrawn'"))
        batch_op.drop_index('ix_proposals_opportunity_state')
        batch_op.drop_index(batch_op.f('ix_proposals_author_user_id'))

    op.drop_table('proposals')
    op.drop_table('conflict_declarations')
