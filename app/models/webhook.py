"""The webhook inboxes: every verified delivery, stored once, processed by a job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow


class InboxRow:
    """What every inbox row records about its processing. The webhook routes insert only what
    they received; the database fills the rest (server defaults), so the raw insert of the hot
    path (app.db.PostgresInbox) and the ORM agree on a new row."""

    received_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )
    # pending → processed | ignored; failed ones are retried
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(300), default="", server_default="")


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
