"""Money: developers' payout accounts, one payout per award, its double-entry ledger, the
Stripe event inbox, and the comments the service leaves on GitHub issues."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
from app.models.webhook import InboxRow

# A payout's transfer_failure when Stripe reports its transfer reversed (money came back).
TRANSFER_REVERSED = "reversed"


class PayoutState(StrEnum):
    AWAITING_FUNDING = "awaiting_funding"
    FUNDED = "funded"  # the team's payment succeeded; the money is held on the platform
    RELEASING = "releasing"  # transfer requested, with its idempotency key stored first
    RELEASED = "released"  # Stripe answered the transfer request
    PAID = "paid"  # Stripe confirmed the transfer
    REFUNDED = "refunded"
    TRANSFER_FAILED = "transfer_failed"
    DISPUTED = "disputed"
    # Closed before any money arrived: nothing to refund.
    CANCELLED = "cancelled"


class DisputeStatus(StrEnum):
    """The dispute on the team's payment, as Stripe reports it."""

    NONE = ""  # never disputed
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class PayoutAccount(Base):
    """A developer's Stripe Connect Express account (or a simulated one in local mode)."""

    __tablename__ = "payout_accounts"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), primary_key=True
    )
    provider_account_id: Mapped[str] = mapped_column(String(100), unique=True)
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Payout(Base):
    """One per award (and so one per opportunity). Facts reported by Stripe (charge, transfer,
    refund, dispute) are recorded as they arrive, in any order; the state follows from them."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("fee_cents >= 0 AND fee_cents <= amount_cents", name="fee_range"),
        CheckConstraint(
            "state IN ('awaiting_funding', 'funded', 'releasing', 'released', 'paid', "
            "'refunded', 'transfer_failed', 'disputed', 'cancelled')",
            name="state_known",
        ),
        CheckConstraint(
            "partial_refund_cents >= 0 AND partial_refund_cents < amount_cents",
            name="partial_refund_range",
        ),
        Index("ix_payouts_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id", ondelete="RESTRICT"), unique=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="RESTRICT"), unique=True
    )
    state: Mapped[PayoutState] = mapped_column(
        EnumText(PayoutState, 20), default=PayoutState.AWAITING_FUNDING
    )
    amount_cents: Mapped[int] = mapped_column(Integer)
    fee_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)

    checkout_session_id: Mapped[str] = mapped_column(String(100), default="")
    funded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    payment_intent_id: Mapped[str] = mapped_column(String(100), default="")
    # The charge the transfer draws on (Stripe's source_transaction).
    charge_id: Mapped[str] = mapped_column(String(100), default="")
    funded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # After a verified merge, the release waits until then (the release_delay_seconds setting);
    # a revert, a reopened pull request or a reopened issue before it holds the payment.
    release_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The awardee, recorded with the move to releasing; the transfers (one per share) are rows
    # of their own (PayoutTransfer), written in that same transaction before any call.
    developer_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    # When every share's transfer was answered by Stripe, and when every one was confirmed.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transfer_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transfer_failure: Mapped[str] = mapped_column(Text, default="")
    transfer_attempts: Mapped[int] = mapped_column(Integer, default=0)

    refund_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refund_id: Mapped[str] = mapped_column(String(100), default="")
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A claim resolved with a partial release: this part of the contract goes back to the team
    # (a refund of that amount, made once with a key derived from the payout), the rest is
    # released to the developer side as usual.
    partial_refund_cents: Mapped[int] = mapped_column(Integer, default=0)
    partial_refund_id: Mapped[str] = mapped_column(String(100), default="")
    dispute_status: Mapped[DisputeStatus] = mapped_column(
        EnumText(DisputeStatus, 10), default=DisputeStatus.NONE
    )

    # Releasing a held payment takes two administrators: the first one's approval is kept here.
    release_approved_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def released_cents(self) -> int:
        """What leaves the holding account for the developer side (with the platform's fee):
        the contract, less a part a claim's resolution gave back to the team."""
        return self.amount_cents - self.partial_refund_cents

    @property
    def transfer_group(self) -> str:
        """Stripe's grouping of the charge and the transfer: one per opportunity."""
        return f"{TRANSFER_GROUP_PREFIX}{self.opportunity_id}"


class TransferState(StrEnum):
    REQUESTED = "requested"  # key and destination stored, before any call
    SENT = "sent"  # Stripe answered with the transfer
    CONFIRMED = "confirmed"  # Stripe confirmed it (its event, or a look at the transfer)


class PayoutTransfer(Base):
    """One share of a payout's release: a transfer of its own to one person's payout account.
    A single payout is one share of the whole; a payout shared with co-authors has one per
    person. Each is exactly-once on its own: its idempotency key and destination are stored
    before the call, and a transfer Stripe already has for it is adopted, never made twice."""

    __tablename__ = "payout_transfers"
    __table_args__ = (
        UniqueConstraint("payout_id", "user_id", name="uq_payout_transfers_recipient"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("basis_points > 0 AND basis_points <= 10000", name="share_range"),
        CheckConstraint("state IN ('requested', 'sent', 'confirmed')", name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(
        ForeignKey("payouts.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    basis_points: Mapped[int] = mapped_column(Integer)  # the share, in hundredths of a percent
    amount_cents: Mapped[int] = mapped_column(Integer)  # what this person receives
    destination_account_id: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    transfer_id: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[TransferState] = mapped_column(
        EnumText(TransferState, 10), default=TransferState.REQUESTED
    )
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CoAuthorShare(Base):
    """A co-author the awardee named before the merge, with their share of the payment (the
    awardee keeps the rest). Identities are GitHub's numeric ids, through the user row."""

    __tablename__ = "co_author_shares"
    __table_args__ = (
        CheckConstraint("basis_points > 0 AND basis_points < 10000", name="share_range"),
    )

    award_id: Mapped[int] = mapped_column(
        ForeignKey("awards.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), primary_key=True
    )
    basis_points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


TRANSFER_GROUP_PREFIX = "opportunity-"


def opportunity_in_group(transfer_group: str) -> int | None:
    """The opportunity id a transfer group names, if it is one of ours."""
    raw = transfer_group.removeprefix(TRANSFER_GROUP_PREFIX)
    return int(raw) if transfer_group.startswith(TRANSFER_GROUP_PREFIX) and raw.isdigit() else None


class LedgerEntry(Base):
    """One line of a double-entry movement. Each movement of a payout is written once (the
    unique key) and its lines sum to zero, so every payout's lines sum to zero."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("payout_id", "movement", "account", name="uq_ledger_movement_line"),
        CheckConstraint("amount_cents <> 0", name="amount_nonzero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(
        ForeignKey("payouts.id", ondelete="RESTRICT"), index=True
    )
    # funding | release | refund
    movement: Mapped[str] = mapped_column(String(20))
    # team:<id> | platform:holding | platform:fees | developer:<user id>
    account: Mapped[str] = mapped_column(String(40))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StripeEvent(InboxRow, Base):
    """The Stripe webhook inbox, unique on the event id: a retried event is stored once."""

    __tablename__ = "stripe_events"
    __table_args__ = (Index("ix_stripe_events_pending", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    # An event about a payout we cannot place yet stays pending.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class IssueComment(Base):
    """Narration on the opportunity's GitHub issue, posted by a job after the commit; the key
    makes each comment exist once however often the step that asks for it runs."""

    __tablename__ = "issue_comments"
    __table_args__ = (Index("ix_issue_comments_pending", "posted_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    github_comment_id: Mapped[int | None] = mapped_column(BigInteger)
