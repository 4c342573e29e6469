"""Proposals: a developer's short answer to an opportunity, and how the team evaluates them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow


class ProposalState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    UNDER_EVALUATION = "under_evaluation"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"
    DISQUALIFIED = "disqualified"


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (
        # One active proposal per developer per opportunity; a withdrawn one does not count.
        Index(
            "uq_proposals_one_active",
            "opportunity_id",
            "author_user_id",
            unique=True,
            postgresql_where=text("state <> 'withdrawn'"),
            sqlite_where=text("state <> 'withdrawn'"),
        ),
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint(
            "state IN ('draft', 'submitted', 'withdrawn', 'under_evaluation', 'awarded', "
            "'not_awarded', 'disqualified')",
            name="state_known",
        ),
        Index("ix_proposals_opportunity_state", "opportunity_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    author_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    state: Mapped[ProposalState] = mapped_column(
        EnumText(ProposalState, 20), default=ProposalState.DRAFT
    )
    approach: Mapped[str] = mapped_column(Text, default="")
    experience: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    delivery_date: Mapped[date | None] = mapped_column(Date)
    contract_terms_version: Mapped[str] = mapped_column(String(20), default="")
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eligibility_attested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disqualified_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RubricCriterion(Base):
    """One line of an opportunity's rubric; weights of a rubric sum to 100."""

    __tablename__ = "rubric_criteria"
    __table_args__ = (CheckConstraint("weight > 0 AND weight <= 100", name="weight_range"),)

    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    label_fr: Mapped[str] = mapped_column(String(200), default="")
    weight: Mapped[int] = mapped_column(Integer)
    # The price criterion is not scored by people: lowest price / this price, times the weight.
    is_price: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ConflictDeclaration(Base):
    __tablename__ = "conflict_declarations"
    __table_args__ = (UniqueConstraint("opportunity_id", "user_id", name="uq_conflict_decl"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    has_conflict: Mapped[bool] = mapped_column(Boolean)
    # The evaluator peer reviewed this opportunity's draft (issue 16): they say so, and the
    # owner reads it with the declaration.
    reviewed_draft: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    note: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 5", name="score_range"),)

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True
    )
    evaluator_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), primary_key=True
    )
    criterion_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")


class EvaluationSubmission(Base):
    """An evaluator finished scoring a proposal; only then do they see the others' scores."""

    __tablename__ = "evaluation_submissions"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True
    )
    evaluator_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), primary_key=True
    )
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Award(Base):
    """The contract. One current award per opportunity; an award ended after a missed delivery
    stays as history (``ended_at``) and the next-ranked proposal gets a new one."""

    __tablename__ = "awards"
    __table_args__ = (
        Index(
            "uq_awards_one_current",
            "opportunity_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    awarded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accept_by: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The language the reason was written in (the awarding person's interface), so pages in
    # the other language mark it (WCAG 3.1.2); empty for awards made before it was recorded.
    reason_lang: Mapped[str] = mapped_column(String(5), default="", server_default="")
    # Set when the owner extends the contract; otherwise the awarded proposal's date, or the
    # opportunity's (opportunities.repository.contract_delivery_dates).
    delivery_date: Mapped[date | None] = mapped_column(Date)
    # The contract ended without delivery (the next-ranked proposal was awarded instead).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
