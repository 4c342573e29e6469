"""Writing notifications with the event they announce (same transaction), and unsubscribing.

Delivery is separate (tasks.py): a notification is stored first, so a failing mail server
delays an email but never loses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import NotFound
from app.i18n import gettext as _
from app.i18n import using_locale
from app.models import EmailOptOut, EmailState, Notification, User
from app.models.base import utcnow
from app.notifications.labels import kind_labels

Message = Callable[[], tuple[str, str]]  # renders (subject, body) in the current language


def notify(
    session: Session,
    users: Iterable[User],
    kind: str,
    event_key: str,
    message: Message,
    link: str = "",
) -> int:
    """One notification per person for this event, rendered in their language. Returns how many
    were new: processing the same event twice notifies nobody twice."""
    created = 0
    for user in users:
        if user.deleted_at is not None:
            continue
        key = f"{kind}:{event_key}:{user.id}"
        if session.scalars(select(Notification.id).where(Notification.dedupe_key == key)).first():
            continue
        with using_locale(user.preferred_locale):
            subject, body = message()
        opted_out = session.get(EmailOptOut, (user.id, kind)) is not None
        state = EmailState.SKIPPED if opted_out or not user.email else EmailState.PENDING
        session.add(
            Notification(
                user_id=user.id,
                kind=kind,
                dedupe_key=key,
                locale=user.preferred_locale,
                subject=subject,
                body=body,
                link=link,
                email_state=state,
            )
        )
        created += 1
    session.flush()
    return created


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key.get_secret_value(), salt="unsubscribe")


def unsubscribe_token(settings: Settings, user_id: int, kind: str) -> str:
    return _serializer(settings).dumps([user_id, kind])


def read_unsubscribe_token(settings: Settings, token: str) -> tuple[int, str]:
    try:
        user_id, kind = _serializer(settings).loads(token)
    except (BadSignature, ValueError, TypeError) as exc:
        raise NotFound(_("This unsubscribe link is not valid.")) from exc
    if not isinstance(user_id, int) or kind not in kind_labels():
        raise NotFound(_("This unsubscribe link is not valid."))
    return user_id, kind


def unsubscribe(session: Session, user_id: int, kind: str) -> None:
    if session.get(EmailOptOut, (user_id, kind)) is None:
        session.add(EmailOptOut(user_id=user_id, kind=kind))


def recent(session: Session, user: User, limit: int = 100) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_all_read(session: Session, user: User) -> None:
    session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
