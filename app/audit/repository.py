"""Audit queries: what the trail already says about one subject."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent


def details_of(
    session: Session,
    subject_type: str,
    subject_id: int,
    action: str,
    *,
    to_state: str | None = None,
) -> list[dict[str, Any]]:
    """The details of the subject's events of one kind, oldest first."""
    query = select(AuditEvent.details).where(
        AuditEvent.subject_type == subject_type,
        AuditEvent.subject_id == subject_id,
        AuditEvent.action == action,
    )
    if to_state is not None:
        query = query.where(AuditEvent.to_state == to_state)
    return [dict(details or {}) for details in session.scalars(query.order_by(AuditEvent.id))]
