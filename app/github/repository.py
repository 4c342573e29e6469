"""Queries of the GitHub domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import WebhookDelivery


def last_delivery_at(session: Session, repository_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(WebhookDelivery.received_at)).where(
            WebhookDelivery.repository_id == repository_id
        )
    )
