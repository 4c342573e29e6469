"""Queries of the GitHub domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import InboxStatus, IssueComment, WebhookDelivery


def claim_pending_delivery(session: Session) -> WebhookDelivery | None:
    """The oldest delivery to process, locked; concurrent workers skip it (SKIP LOCKED)."""
    return session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.status == InboxStatus.PENDING)
        .order_by(WebhookDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def claim_unposted_comment(session: Session, max_attempts: int) -> IssueComment | None:
    return session.scalars(
        select(IssueComment)
        .where(IssueComment.posted_at.is_(None), IssueComment.attempts < max_attempts)
        .order_by(IssueComment.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def last_delivery_at(session: Session, repository_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(WebhookDelivery.received_at)).where(
            WebhookDelivery.repository_id == repository_id
        )
    )
