"""github app installations: the platform's GitHub App installations and their repositories

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('github_installations',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('account_login', sa.String(length=100), nullable=False),
    sa.Column('account_github_id', sa.BigInteger(), nullable=True),
    sa.Column('installed_by_github_id', sa.BigInteger(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('claimed_by_team_id', sa.Integer(), nullable=True),
    sa.Column('claimed_by_github_id', sa.BigInteger(), nullable=True),
    sa.Column('suspended_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claimed_by_team_id'], ['teams.id'], name=op.f('fk_github_installations_claimed_by_team_id_teams')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_github_installations_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_github_installations'))
    )
    with op.batch_alter_table('github_installations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_github_installations_team_id'), ['team_id'], unique=False)

    op.create_table('github_installed_repositories',
    sa.Column('repository_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('installation_id', sa.BigInteger(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('added_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['installation_id'], ['github_installations.id'], name=op.f('fk_github_installed_repositories_installation_id_github_installations')),
    sa.PrimaryKeyConstraint('repository_id', name=op.f('pk_github_installed_repositories'))
    )
    with op.batch_alter_table('github_installed_repositories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_github_installed_repositories_installation_id'), ['installation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_github_installed_repositories_name_key'), ['name_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('github_installed_repositories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_github_installed_repositories_name_key'))
        batch_op.drop_index(batch_op.f('ix_github_installed_repositories_installation_id'))

    op.drop_table('github_installed_repositories')
    with op.batch_alter_table('github_installations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_github_installations_team_id'))

    op.drop_table('github_installations')
