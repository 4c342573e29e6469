"""Opportunities: one GitHub issue's worth of paid open-source work, and its skills."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow


class OpportunityState(StrEnum):
    DRAFT = "draft"
    IN_PEER_REVIEW = "in_peer_review"
    PUBLISHED = "published"
    EVALUATING = "evaluating"
    AWARDED = "awarded"
    IN_PROGRESS = "in_progress"
    MERGED = "merged"
    PAID = "paid"
    CANCELLED = "cancelled"
    UNSUCCESSFUL = "unsuccessful"
    ON_HOLD = "on_hold"
    # Past the contract's delivery date with no merged pull request: the owner decides.
    MISSED_DELIVERY = "missed_delivery"


# The CHECK constraint that holds amounts under the cap is created by the migrations from the
# DEVEX_MAX_CONTRACT_CENTS setting (see ``amount_cap_sql``); to raise it, `devex db apply-cap`.
AMOUNT_CAP_CONSTRAINT = "ck_opportunities_amount_within_cap"
# PostgreSQL only: a stored tsvector column generated from search_document, and its GIN index.
# The migrations create both; they are not in the model (SQLite has neither), and autogenerate
# is told to look past them (app.migrations.include_object).
SEARCH_VECTOR = "search_vector"
SEARCH_INDEX = "ix_opportunities_search_fts"
SEARCH_CONFIG = "simple"  # content is English and French: no single-language stemming


def amount_cap_sql(max_cents: int) -> str:
    return f"amount_cents <= {int(max_cents)}"


class Opportunity(Base):
    __tablename__ = "opportunities"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "state IN ('draft', 'in_peer_review', 'published', 'evaluating', 'awarded', "
            "'in_progress', 'merged', 'paid', 'cancelled', 'unsuccessful', 'on_hold', "
            "'missed_delivery')",
            name="state_known",
        ),
        # Public listings walk these in order (keyset pagination), so a page costs the same
        # at 1k or 100k rows.
        Index("ix_opportunities_public_newest", "published_at", "id"),
        Index("ix_opportunities_public_deadline", "proposal_deadline", "id"),
        Index("ix_opportunities_public_amount", "amount_cents", "id"),
        Index("ix_opportunities_state_newest", "state", "published_at", "id"),
        Index("ix_opportunities_team_newest", "team_id", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[OpportunityState] = mapped_column(
        EnumText(OpportunityState, 20), default=OpportunityState.DRAFT
    )

    title: Mapped[str] = mapped_column(String(200))
    title_fr: Mapped[str] = mapped_column(String(200), default="")
    problem_statement: Mapped[str] = mapped_column(Text, default="")
    problem_statement_fr: Mapped[str] = mapped_column(Text, default="")
    context_links: Mapped[str] = mapped_column(Text, default="")
    acceptance_criteria: Mapped[str] = mapped_column(Text, default="")
    acceptance_criteria_fr: Mapped[str] = mapped_column(Text, default="")
    remote: Mapped[bool] = mapped_column(default=True)
    location: Mapped[str] = mapped_column(String(200), default="")

    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    proposal_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    delivery_date: Mapped[date | None] = mapped_column(Date)

    github_repository_id: Mapped[int | None] = mapped_column(BigInteger)
    github_repository_full_name: Mapped[str] = mapped_column(String(200), default="")
    github_issue_number: Mapped[int | None] = mapped_column(Integer)
    # As the API said when the link was verified; a merge is checked against its answer then.
    github_default_branch: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # The quality gate: pay only when the merged commit's checks passed.
    require_passing_checks: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The verified merge that did the work; a revert or a reopening of it holds the payment.
    github_pull_request_number: Mapped[int | None] = mapped_column(Integer)
    # When GitHub is next asked whether the issue was already closed by a qualifying merge: set
    # as the work starts (a merge may have come before the funding), cleared once asked.
    merge_check_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    license_spdx: Mapped[str] = mapped_column(String(60), default="")

    # Lower-cased title, statement and skills in both languages; what search looks in.
    search_document: Mapped[str] = mapped_column(Text, default="")

    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Set on first publication; an opportunity is public from then on, whatever its state.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def github_issue_url(self) -> str:
        if not self.github_repository_full_name or self.github_issue_number is None:
            return ""
        return (
            f"https://github.com/{self.github_repository_full_name}/issues/"
            f"{self.github_issue_number}"
        )

    @property
    def issue_link_verified(self) -> bool:
        return self.github_repository_id is not None and self.github_issue_number is not None


class OpportunitySkill(Base):
    __tablename__ = "opportunity_skills"
    __table_args__ = (Index("ix_opportunity_skills_skill", "skill", "opportunity_id"),)

    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(50), primary_key=True)
