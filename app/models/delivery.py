"""Delivery of awarded work: the awardee's check-ins (and the pull requests GitHub tells us
about), and the part of a held payment given back when the next-ranked proposal costs less."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow


class CheckInSource(StrEnum):
    AWARDEE = "awardee"  # written by the awardee on the contract page or the API
    GITHUB = "github"  # a pull request of the awardee's that references the issue


class CheckIn(Base):
    __tablename__ = "check_ins"
    __table_args__ = (
        CheckConstraint("source IN ('awardee', 'github')", name="source_known"),
        Index("ix_check_ins_opportunity_newest", "opportunity_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id", ondelete="CASCADE"))
    source: Mapped[CheckInSource] = mapped_column(EnumText(CheckInSource, 10))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    github_pull_request_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PayoutAdjustment(Base):
    """Held money given back to the team when the contract moves to a cheaper proposal: a
    partial refund with its own idempotency key (stored before the call), posted to the ledger
    once the gateway answers."""

    __tablename__ = "payout_adjustments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_payout_adjustments_pending", "refund_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(
        ForeignKey("payouts.id", ondelete="RESTRICT"), index=True
    )
    # The award the payout moved to: the adjustment is its difference with the one before.
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id", ondelete="RESTRICT"), unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    refund_id: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
