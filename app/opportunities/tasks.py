"""Scheduled opportunity jobs. Each is idempotent: running it twice changes nothing more."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models.base import utcnow
from app.opportunities import service


def close_past_deadlines(session_factory: sessionmaker[Session], _settings: Settings) -> int:
    with session_factory() as session:
        closed = service.close_past_deadlines(session, utcnow())
        session.commit()
    return closed
