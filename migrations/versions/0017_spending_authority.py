"""spending authority: the approver role with a limit of their own, a team's monthly spending
limit, and every sign-off (who, when, what amount) on publishing and funding

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.base import UTCDateTime

revision: str = "0017"
# The lead re-chains this onto the head of main at merge time.
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES_BEFORE = "role IN ('owner', 'editor', 'evaluator', 'finance')"
ROLES_AFTER = "role IN ('owner', 'editor', 'evaluator', 'finance', 'approver')"
LIMIT_FOR_APPROVERS = (
    "(role = 'approver' AND spending_limit_cents >= 0)"
    " OR (role <> 'approver' AND spending_limit_cents IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("monthly_spending_limit_cents", sa.Integer(), nullable=True))
    with op.batch_alter_table("team_memberships") as batch:
        batch.add_column(sa.Column("spending_limit_cents", sa.Integer(), nullable=True))
        batch.drop_constraint(op.f("ck_team_memberships_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_team_memberships_role_known"), ROLES_AFTER)
        batch.create_check_constraint(
            op.f("ck_team_memberships_limit_for_approvers"), LIMIT_FOR_APPROVERS
        )
    with op.batch_alter_table("team_invitations") as batch:
        batch.drop_constraint(op.f("ck_team_invitations_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_team_invitations_role_known"), ROLES_AFTER)
    op.create_table(
        "spending_signoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("award_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("signed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('publish', 'fund')", name=op.f("ck_spending_signoffs_purpose_known")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_spending_signoffs_amount_positive")),
        sa.CheckConstraint(
            "(purpose = 'fund') = (award_id IS NOT NULL)",
            name=op.f("ck_spending_signoffs_award_for_funding"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_spending_signoffs_team_id_teams"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_spending_signoffs_opportunity_id_opportunities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["award_id"],
            ["awards.id"],
            name=op.f("fk_spending_signoffs_award_id_awards"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_user_id"],
            ["users.id"],
            name=op.f("fk_spending_signoffs_signed_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spending_signoffs")),
    )
    with op.batch_alter_table("spending_signoffs") as batch:
        batch.create_index(
            batch.f("ix_spending_signoffs_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch.create_index(
            "ix_spending_signoffs_team_month", ["team_id", "purpose", "signed_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("spending_signoffs")
    # Approver memberships and invitations have no place in the older schema.
    op.execute("DELETE FROM team_invitations WHERE role = 'approver'")
    op.execute("DELETE FROM team_memberships WHERE role = 'approver'")
    with op.batch_alter_table("team_invitations") as batch:
        batch.drop_constraint(op.f("ck_team_invitations_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_team_invitations_role_known"), ROLES_BEFORE)
    with op.batch_alter_table("team_memberships") as batch:
        batch.drop_constraint(op.f("ck_team_memberships_limit_for_approvers"), type_="check")
        batch.drop_constraint(op.f("ck_team_memberships_role_known"), type_="check")
        batch.create_check_constraint(op.f("ck_team_memberships_role_known"), ROLES_BEFORE)
        batch.drop_column("spending_limit_cents")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("monthly_spending_limit_cents")
