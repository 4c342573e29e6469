"""Email subscriptions to new opportunities: a visitor's filters, and the emails sent for them.

A subscription belongs to an email address, not to an account: anyone may follow the work
without signing in. The emails are an outbox like the notifications: rows written first (one per
opportunity, or per day for a digest, made unique by their key), sent after by a job.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow
from app.models.notification import EmailState


class Frequency(StrEnum):
    INSTANT = "instant"  # one email per new opportunity
    DAILY = "daily"  # one digest a day, when there is something new


class SubscriptionState(StrEnum):
    """pending → confirmed (double opt-in) → ended (unsubscribed, or the address bounced)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    ENDED = "ended"


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("amount_min_cents IS NULL OR amount_min_cents >= 0", name="amount_min"),
        CheckConstraint("frequency IN ('instant', 'daily')", name="frequency_known"),
        CheckConstraint("state IN ('pending', 'confirmed', 'ended')", name="state_known"),
        Index("ix_subscriptions_due", "state", "frequency", "matched_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    locale: Mapped[str] = mapped_column(String(5))
    # Filters; empty means "any". Skills are stored lower-case, comma-separated; one of them
    # is enough for an opportunity to match.
    skills: Mapped[str] = mapped_column(Text, default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    amount_min_cents: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[Frequency] = mapped_column(EnumText(Frequency, 10))
    state: Mapped[SubscriptionState] = mapped_column(
        EnumText(SubscriptionState, 10), default=SubscriptionState.PENDING
    )
    # Opportunities published up to this instant have been considered for this subscription;
    # the next emails cover what was published after it.
    matched_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def skill_list(self) -> list[str]:
        return [skill for skill in self.skills.split(",") if skill]


class SubscriptionEmail(Base):
    """One email to a subscriber: the confirmation request, a new opportunity, or a digest."""

    __tablename__ = "subscription_emails"
    __table_args__ = (Index("ix_subscription_emails_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    # confirm:<subscription>, instant:<subscription>:<opportunity>, digest:<subscription>:<day>
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[EmailState] = mapped_column(EnumText(EmailState, 10), default=EmailState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
