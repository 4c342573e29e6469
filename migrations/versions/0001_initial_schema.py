"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.config import get_settings
from app.models.opportunity import (
    AMOUNT_CAP_CONSTRAINT,
    SEARCH_CONFIG,
    SEARCH_INDEX,
    SEARCH_VECTOR,
    amount_cap_sql,
)
from app.models.base import UTCDateTime

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_fr', sa.String(length=200), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('description_fr', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('slug', name=op.f('uq_teams_slug'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('github_id', sa.BigInteger(), nullable=False),
    sa.Column('login', sa.String(length=39), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('github_id', name=op.f('uq_users_github_id'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', UTCDateTime(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=30), nullable=True),
    sa.Column('to_state', sa.String(length=30), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_actor_user_id'), ['actor_user_id'], unique=False)
        batch_op.create_index('ix_audit_events_subject', ['subject_type', 'subject_id', 'id'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('description_fr', sa.Text(), nullable=False),
    sa.Column('github_repository_id', sa.BigInteger(), nullable=True),
    sa.Column('github_repository_full_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_projects_team_id_teams'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('team_id', 'slug', name='uq_projects_team_slug')
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_team_id'), ['team_id'], unique=False)

    op.create_table('team_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("role IN ('owner', 'editor', 'evaluator', 'finance')", name=op.f('ck_team_memberships_role_known')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_memberships_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_memberships')),
    sa.UniqueConstraint('team_id', 'user_id', 'role', name='uq_team_memberships_team_user_role')
    )
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_memberships_user_id'), ['user_id'], unique=False)

    op.create_table('opportunities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_fr', sa.String(length=200), nullable=False),
    sa.Column('problem_statement', sa.Text(), nullable=False),
    sa.Column('problem_statement_fr', sa.Text(), nullable=False),
    sa.Column('context_links', sa.Text(), nullable=False),
    sa.Column('acceptance_criteria', sa.Text(), nullable=False),
    sa.Column('acceptance_criteria_fr', sa.Text(), nullable=False),
    sa.Column('remote', sa.Boolean(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('proposal_deadline', UTCDateTime(), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=True),
    sa.Column('github_repository_id', sa.BigInteger(), nullable=True),
    sa.Column('github_repository_full_name', sa.String(length=200), nullable=False),
    sa.Column('github_issue_number', sa.Integer(), nullable=True),
    sa.Column('license_spdx', sa.String(length=60), nullable=False),
    sa.Column('search_document', sa.Text(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'in_peer_review', 'published', 'evaluating', 'awarded', 'in_progress', 'merged', 'paid', 'cancelled', 'unsuccessful', 'on_hold')", name=op.f('ck_opportunities_state_known')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_opportunities_amount_positive')),
    # The cap is a setting; the database enforces the value in force when it was migrated.
    sa.CheckConstraint(
        amount_cap_sql(get_settings().max_contract_cents), name=AMOUNT_CAP_CONSTRAINT
    ),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_opportunities_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_opportunities_project_id_projects'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_opportunities_team_id_teams'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities'))
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunities_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_opportunities_public_amount', ['amount_cents', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_public_deadline', ['proposal_deadline', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_public_newest', ['published_at', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_state_newest', ['state', 'published_at', 'id'], unique=False)
        batch_op.create_index('ix_opportunities_team_newest', ['team_id', 'published_at', 'id'], unique=False)

    op.create_table('opportunity_skills',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('skill', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_skills_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('opportunity_id', 'skill', name=op.f('pk_opportunity_skills'))
    )
    with op.batch_alter_table('opportunity_skills', schema=None) as batch_op:
        batch_op.create_index('ix_opportunity_skills_skill', ['skill', 'opportunity_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # Stored, so a search never recomputes to_tsvector row by row.
        op.execute(
            f"ALTER TABLE opportunities ADD COLUMN {SEARCH_VECTOR} tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('{SEARCH_CONFIG}'::regconfig, search_document)) STORED"
        )
        op.create_index(SEARCH_INDEX, "opportunities", [SEARCH_VECTOR], postgresql_using="gin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(SEARCH_INDEX, table_name="opportunities")
    with op.batch_alter_table('opportunity_skills', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunity_skills_skill')

    op.drop_table('opportunity_skills')
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_opportunities_team_newest')
        batch_op.drop_index('ix_opportunities_state_newest')
        batch_op.drop_index('ix_opportunities_public_newest')
        batch_op.drop_index('ix_opportunities_public_deadline')
        batch_op.drop_index('ix_opportunities_public_amount')
        batch_op.drop_index(batch_op.f('ix_opportunities_project_id'))

    op.drop_table('opportunities')
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_memberships_user_id'))

    op.drop_table('team_memberships')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_team_id'))

    op.drop_table('projects')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject')
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_user_id'))

    op.drop_table('audit_events')
    op.drop_table('users')
    op.drop_table('teams')
