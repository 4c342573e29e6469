"""Writing audit events. Callers pass the session; the event commits with the change it records."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.models import AuditEvent


def record(
    session: Session,
    *,
    actor_user_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int,
    from_state: str | None = None,
    to_state: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_user_id=actor_user_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        from_state=from_state,
        to_state=to_state,
        details=details or {},
    )
    session.add(event)
    return event
