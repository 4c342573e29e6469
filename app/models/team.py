"""Government teams, their projects (usually one repository each) and memberships."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow


class TeamRole(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    EVALUATOR = "evaluator"
    FINANCE = "finance"
    # Signs off publishing and funding, up to a limit of their own (spending authority).
    APPROVER = "approver"


ROLE_CHECK = "role IN ('owner', 'editor', 'evaluator', 'finance', 'approver')"


class SignoffPurpose(StrEnum):
    # What an approver signs off: an opportunity's budget going public, or an award's price
    # being paid. A comment, not a docstring: the API describes it on the fields that use it
    # (app/schemas.py says why).

    PUBLISH = "publish"
    FUND = "fund"


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (
        CheckConstraint("quiet_days_warning BETWEEN 1 AND 90", name="quiet_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200), default="")
    organization: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_fr: Mapped[str] = mapped_column(Text, default="")
    # A team is public and may publish once approved: at once when its creator's verified email
    # is in a government domain, otherwise by a platform admin.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # When set, a draft needs at least one completed peer review before it can be published.
    require_peer_review: Mapped[bool] = mapped_column(default=False)
    # The SPDX licence expression a new draft starts with; each opportunity may name another.
    default_licence: Mapped[str] = mapped_column(String(60), default="MIT", server_default="MIT")
    # What the team's approvers may sign off for funding in one UTC calendar month, in total;
    # None: no monthly limit (each approver's own limit still applies).
    monthly_spending_limit_cents: Mapped[int | None] = mapped_column(Integer)
    # Work in progress with no activity (check-in, pull request) for this many days warns the
    # team and the awardee, once per quiet period.
    quiet_days_warning: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("team_id", "slug", name="uq_projects_team_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_fr: Mapped[str] = mapped_column(Text, default="")
    github_repository_id: Mapped[int | None] = mapped_column(BigInteger)
    github_repository_full_name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TeamMembership(Base):
    __tablename__ = "team_memberships"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "role", name="uq_team_memberships_team_user_role"),
        CheckConstraint(ROLE_CHECK, name="role_known"),
        # An approver's row carries their limit; no other role has one.
        CheckConstraint(
            "(role = 'approver' AND spending_limit_cents >= 0)"
            " OR (role <> 'approver' AND spending_limit_cents IS NULL)",
            name="limit_for_approvers",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[TeamRole] = mapped_column(EnumText(TeamRole, 20))
    # The most one sign-off by this approver may be for, in cents (approver rows only).
    spending_limit_cents: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SpendingSignoff(Base):
    """One approver's sign-off: who, when, for what amount. Funding sign-offs of a UTC calendar
    month add up against the team's monthly limit. Never updated nor deleted."""

    __tablename__ = "spending_signoffs"
    __table_args__ = (
        CheckConstraint("purpose IN ('publish', 'fund')", name="purpose_known"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        # A funding sign-off is for one award (its price); publishing has none yet.
        CheckConstraint("(purpose = 'fund') = (award_id IS NOT NULL)", name="award_for_funding"),
        Index("ix_spending_signoffs_team_month", "team_id", "purpose", "signed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"))
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="RESTRICT"), index=True
    )
    award_id: Mapped[int | None] = mapped_column(ForeignKey("awards.id", ondelete="RESTRICT"))
    purpose: Mapped[SignoffPurpose] = mapped_column(EnumText(SignoffPurpose, 10))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    signed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
