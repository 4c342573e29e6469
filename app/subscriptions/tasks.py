"""Subscription jobs: write what each subscriber is owed, then send it. Each subscription and
each email in its own transaction, claimed with SKIP LOCKED, so several workers share the work
and one bad address never holds up the others."""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.email import AddressRefused, EmailNotSent, retry_delay, send_unsubscribable
from app.models import EmailState, SubscriptionEmail, SubscriptionState
from app.models.base import utcnow
from app.subscriptions import repository, service

log = structlog.get_logger("devex.subscriptions")
# After this many failed attempts (about a day and a half of backoff) an email is given up.
MAX_ATTEMPTS = 12


def queue_new_opportunities(session_factory: sessionmaker[Session], settings: Settings) -> int:
    now = utcnow()
    with session_factory() as session:
        due = repository.due_subscription_ids(session, *service.windows_end(settings, now))
    queued = 0
    for subscription_id in due:
        with session_factory() as session:
            subscription = repository.lock_confirmed(session, subscription_id)
            if subscription is None:
                continue  # another worker has it, or it ended meanwhile
            queued += service.queue_emails(session, settings, subscription, now)
            session.commit()
    return queued


def deliver_pending(session_factory: sessionmaker[Session], settings: Settings) -> int:
    sent = 0
    while True:
        with session_factory() as session:
            email = repository.claim_due_email(session, utcnow())
            if email is None:
                return sent
            subscription = repository.get(session, email.subscription_id)
            if subscription is None or subscription.state == SubscriptionState.ENDED:
                email.state = EmailState.SKIPPED
                session.commit()
                continue
            try:
                send_unsubscribable(
                    settings,
                    subscription.email,
                    email.subject,
                    email.body,
                    f"{settings.base_url}/subscriptions/unsubscribe/"
                    f"{service.unsubscribe_token(settings, subscription.id)}",
                    subscription.locale,
                )
            except AddressRefused as refused:
                # A bounce: this address will not take mail, so stop writing to it.
                _give_up(email, str(refused))
                session.flush()
                service.unsubscribe(session, subscription, reason="bounced")
                session.commit()
                log.warning("subscription ended: address refused", subscription_id=subscription.id)
                continue
            except EmailNotSent as failed:
                _delay(email, str(failed))
                session.commit()
                return sent  # the mail server is away: the rest waits for the next run
            email.state = EmailState.SENT
            email.sent_at = utcnow()
            session.commit()
            sent += 1


def _give_up(email: SubscriptionEmail, error: str) -> None:
    email.state = EmailState.FAILED
    email.last_error = error[:200]


def _delay(email: SubscriptionEmail, error: str) -> None:
    email.attempts += 1
    if email.attempts >= MAX_ATTEMPTS:
        _give_up(email, error)
        return
    email.next_attempt_at = utcnow() + retry_delay(email.attempts)
    email.last_error = error[:200]
    log.warning("subscription email delayed", email_id=email.id, attempts=email.attempts)
