"""The webhook inboxes: every verified delivery, stored once, processed by a job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, EnumText, UTCDateTime, utcnow


class InboxStatus(StrEnum):
    """pending → processed | ignored; a failed attempt leaves the row pending, to be retried."""

    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Outcome:
    """What processing a row came to: its kind (the row's status) and, in words, why."""

    status: InboxStatus
    reason: str

    @classmethod
    def processed(cls, reason: str) -> Outcome:
        return cls(InboxStatus.PROCESSED, reason)

    @classmethod
    def ignored(cls, reason: str) -> Outcome:
        return cls(InboxStatus.IGNORED, reason)

    @property
    def text(self) -> str:
        """As the row records it: an ignored row's reason says so first."""
        return (
            f"{self.status}: {self.reason}" if self.status is InboxStatus.IGNORED else self.reason
        )


OUTCOME_LENGTH = 300


class InboxRow:
    """What every inbox row records about its processing. The webhook routes insert only what
    they received; the database fills the rest (server defaults), so the raw insert of the hot
    path (app.db.PostgresInbox) and the ORM agree on a new row."""

    received_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )
    status: Mapped[InboxStatus] = mapped_column(
        EnumText(InboxStatus, 12), default=InboxStatus.PENDING, server_default=InboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Outcome.text, or while the row is pending, what its last attempt ran into.
    outcome: Mapped[str] = mapped_column(String(OUTCOME_LENGTH), default="", server_default="")

    def finish(self, outcome: Outcome) -> None:
        self.attempts += 1
        self.status = outcome.status
        self.outcome = outcome.text[:OUTCOME_LENGTH]
        self.processed_at = utcnow()

    def note_attempt(self, note: str) -> None:
        """An attempt that decided nothing: the row stays pending."""
        self.attempts += 1
        self.outcome = note[:OUTCOME_LENGTH]


class WebhookDelivery(InboxRow, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_pending", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # GitHub's X-GitHub-Delivery: a redelivery or a duplicate is stored once.
    delivery_id: Mapped[str] = mapped_column(String(100), unique=True)
    event: Mapped[str] = mapped_column(String(50))
    # The exact bytes that were signed, kept as received.
    body: Mapped[str] = mapped_column(Text)
    # Read by the inbox job (not on the hot path): which repository is connected, and when it
    # last spoke to us.
    repository_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
