"""Claims: a disagreement about delivery, opened by either side of a contract and resolved by
two administrators. Not to be confused with a dispute, which is a card chargeback reported by
Stripe (Payout.dispute_status)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow


class ClaimState(StrEnum):
    OPEN = "open"  # waiting for an administrator's proposal
    PROPOSED = "proposed"  # one administrator proposed a resolution; a second must confirm
    RESOLVED = "resolved"


class ClaimSide(StrEnum):
    DEVELOPER = "developer"  # the awardee opened it
    TEAM = "team"  # the team's owner or finance person opened it


class Resolution(StrEnum):
    RELEASE = "release"  # the whole payout to the developer side
    PARTIAL = "partial"  # part to the developer side, the rest refunded to the team
    REFUND = "refund"  # everything back to the team; the work is cancelled


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'proposed', 'resolved')", name="state_known"),
        CheckConstraint("side IN ('developer', 'team')", name="side_known"),
        CheckConstraint(
            "resolution IN ('', 'release', 'partial', 'refund')", name="resolution_known"
        ),
        CheckConstraint("developer_cents >= 0", name="developer_cents_range"),
        # One claim at a time on a contract.
        Index(
            "uq_claims_one_open",
            "opportunity_id",
            unique=True,
            postgresql_where=text("state <> 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="RESTRICT"), index=True
    )
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id", ondelete="RESTRICT"))
    opened_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    side: Mapped[ClaimSide] = mapped_column(EnumText(ClaimSide, 10))
    reason: Mapped[str] = mapped_column(Text)
    # Whether the money was still held when the claim was opened: only then does the
    # resolution move money; otherwise it is recorded for the record.
    money_held: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[ClaimState] = mapped_column(EnumText(ClaimState, 10), default=ClaimState.OPEN)
    # The proposed (then confirmed) resolution; developer_cents is the developer side's part
    # of the contract (the whole for a release, none for a refund).
    resolution: Mapped[str] = mapped_column(String(10), default="")
    developer_cents: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    proposed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    confirmed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
