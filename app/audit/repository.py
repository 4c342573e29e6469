"""Queries over the audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent


def events_for(session: Session, subject_type: str, subject_id: int) -> Sequence[AuditEvent]:
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    ).all()
