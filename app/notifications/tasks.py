"""Email delivery from the notifications outbox: after commit, retried with backoff."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.email import EmailNotSent, retry_delay, send_unsubscribable
from app.models import EmailState, Notification, User
from app.models.base import utcnow
from app.notifications.service import unsubscribe_token

log = structlog.get_logger("devex.notifications")


def deliver_pending(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Sends what is due; each email in its own transaction, claimed with SKIP LOCKED so that
    several workers never send the same one."""
    sent = 0
    while True:
        with session_factory() as session:
            row = session.scalars(
                select(Notification)
                .where(
                    Notification.email_state == EmailState.PENDING,
                    Notification.next_attempt_at <= utcnow(),
                )
                .order_by(Notification.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return sent
            user = session.get(User, row.user_id)
            if user is None or not user.email:
                row.email_state = EmailState.SKIPPED
                session.commit()
                continue
            try:
                _send(settings, row, user.email)
            except EmailNotSent as exc:
                row.email_attempts += 1
                row.next_attempt_at = utcnow() + retry_delay(row.email_attempts)
                row.last_error = str(exc)[:200]
                session.commit()
                log.warning("email delayed", notification_id=row.id, attempts=row.email_attempts)
                return sent  # the server is down: try the rest later too
            row.email_state = EmailState.SENT
            row.sent_at = utcnow()
            session.commit()
            sent += 1


def _send(settings: Settings, row: Notification, address: str) -> None:
    base = settings.base_url
    unsubscribe = f"{base}/unsubscribe/{unsubscribe_token(settings, row.user_id, row.kind)}"
    body = f"{row.body}\n\n{base}{row.link}" if row.link else row.body
    send_unsubscribable(settings, address, row.subject, body, unsubscribe, row.locale)
