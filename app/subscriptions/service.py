"""Subscribing (double opt-in), confirming, unsubscribing, and writing the emails a subscriber is
owed. Emails are rows first (tasks.py sends them), unique per subscription and opportunity or
per subscription and day, so however often the job runs nobody hears of the same work twice.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import Settings
from app.errors import NotFound, ValidationFailed
from app.i18n import gettext as _
from app.i18n import ngettext, using_locale
from app.lifecycle import guarded_transition
from app.models import (
    EmailState,
    Frequency,
    Subscription,
    SubscriptionEmail,
    SubscriptionState,
)
from app.models.base import utcnow
from app.opportunities import repository as opportunities_repository
from app.opportunities.repository import Listed
from app.opportunities.schemas import ListFilters
from app.subscriptions import repository
from app.subscriptions.schemas import SubscriptionIn
from app.teams import repository as teams_repository
from app.text import format_money, localized, parse_money_to_cents

# Only the shape is checked here: the confirmation email is what proves an address works.
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_SKILLS = 15
MAX_SKILL_LENGTH = 50
CONFIRM_LINK_DAYS = 7
# A publication commits a moment after its timestamp is taken: the job looks only at what was
# published at least this long ago, so that no opportunity slips in behind its cursor.
PUBLISH_SETTLE = timedelta(minutes=1)

ALLOWED: dict[SubscriptionState, frozenset[SubscriptionState]] = {
    SubscriptionState.PENDING: frozenset({SubscriptionState.CONFIRMED, SubscriptionState.ENDED}),
    SubscriptionState.CONFIRMED: frozenset({SubscriptionState.ENDED}),
    SubscriptionState.ENDED: frozenset(),
}


def subscribe(
    session: Session, settings: Settings, form: SubscriptionIn, locale: str
) -> Subscription:
    """A pending subscription and, within the day's allowance for the address, the email that
    asks to confirm it. Whether the address already subscribed is never revealed."""
    subscription = _subscription_from(session, form, locale)
    session.add(subscription)
    session.flush()
    _record(session, subscription, "subscription.created", None)
    sent_today = repository.confirmations_since(
        session, subscription.email, utcnow() - timedelta(days=1)
    )
    if sent_today < settings.subscription_confirmations_per_day:
        _add_email(
            session,
            subscription,
            f"confirm:{subscription.id}",
            _confirmation(settings, subscription),
        )
    return subscription


def _subscription_from(session: Session, form: SubscriptionIn, locale: str) -> Subscription:
    errors: dict[str, str] = {}
    email = form.email.strip()
    if not EMAIL_SHAPE.match(email):
        errors["email"] = _("Enter an email address, like name@example.com.")
    skills = _skills(form.skills)
    if len(skills) > MAX_SKILLS or any(len(skill) > MAX_SKILL_LENGTH for skill in skills):
        errors["skills"] = _(
            "Name at most %(count)s skills, each under %(length)s characters.",
            count=MAX_SKILLS,
            length=MAX_SKILL_LENGTH,
        )
    team = teams_repository.team_by_slug(session, form.team) if form.team else None
    if form.team and team is None:
        errors["team"] = _("Choose a team from the list.")
    amount = parse_money_to_cents(form.amount_min) if form.amount_min.strip() else None
    if form.amount_min.strip() and amount is None:
        errors["amount_min"] = _("Enter an amount in dollars, like 500 or 1,250.50.")
    if form.frequency not in set(Frequency):
        errors["frequency"] = _("Choose how often to hear from us.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    return Subscription(
        email=email,
        locale=locale,
        skills=",".join(skills),
        team_id=team.id if team else None,
        amount_min_cents=amount,
        frequency=Frequency(form.frequency),
    )


def _skills(text: str) -> list[str]:
    """Comma-separated, compared as the listing compares them: trimmed, lower-case, once each."""
    return list(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))


def confirm(session: Session, subscription: Subscription) -> None:
    """The second opt-in. From now on, opportunities published after this moment are sent.
    Confirming twice is harmless; an ended subscription cannot come back (subscribe again)."""
    if subscription.state == SubscriptionState.CONFIRMED:
        return
    now = utcnow()
    _transition(
        session,
        subscription,
        SubscriptionState.CONFIRMED,
        extra={"confirmed_at": now, "matched_until": now},
        refused=_("This subscription has ended. Subscribe again to hear about new opportunities."),
    )


def unsubscribe(session: Session, subscription: Subscription, reason: str = "unsubscribed") -> None:
    """Ends the subscription and drops what it has not been sent yet. Harmless when repeated."""
    if subscription.state == SubscriptionState.ENDED:
        return
    _transition(
        session,
        subscription,
        SubscriptionState.ENDED,
        extra={"ended_at": utcnow(), "ended_reason": reason},
        refused=_("This subscription has already ended."),
    )
    session.execute(
        update(SubscriptionEmail)
        .where(
            SubscriptionEmail.subscription_id == subscription.id,
            SubscriptionEmail.state == EmailState.PENDING,
        )
        .values(state=EmailState.SKIPPED)
    )


def _transition(
    session: Session,
    subscription: Subscription,
    to_state: SubscriptionState,
    *,
    extra: dict[str, object],
    refused: str,
) -> None:
    guarded_transition(
        session,
        subscription,
        to_state,
        ALLOWED,
        actor_user_id=None,
        subject_type="subscription",
        refused=refused,
        extra_values=extra,
    )


def _record(
    session: Session, subscription: Subscription, action: str, to_state: str | None
) -> None:
    audit.record(
        session,
        actor_user_id=None,
        action=action,
        subject_type="subscription",
        subject_id=subscription.id,
        to_state=to_state or subscription.state,
    )


# --- what a subscriber is owed ------------------------------------------------------------


def digest_time(now: datetime, hour: int) -> datetime:
    """The latest daily digest moment at or before `now`."""
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today <= now else today - timedelta(days=1)


def windows_end(settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    """How far instant and daily subscriptions can look now: instant ones up to what has
    settled, daily ones up to the last digest moment that has settled (so a digest covers
    exactly one day, from one digest moment to the next)."""
    settled = now - PUBLISH_SETTLE
    return settled, digest_time(settled, settings.subscription_digest_hour_utc)


def queue_emails(
    session: Session, settings: Settings, subscription: Subscription, now: datetime
) -> int:
    """Writes the emails for what was published since the subscription's cursor and moves the
    cursor: one email per opportunity (instant) or one digest for the day. Returns how many."""
    instant_until, daily_until = windows_end(settings, now)
    instant = subscription.frequency == Frequency.INSTANT
    until = instant_until if instant else daily_until
    after = subscription.matched_until
    if after is None or after >= until:
        return 0
    found = [
        item
        for item in _published(session, subscription, after, until)
        if _skills_match(subscription, item)
    ]
    subscription.matched_until = until
    if not found:
        return 0
    if instant:
        for item in found:
            _add_email(
                session,
                subscription,
                f"instant:{subscription.id}:{item.opportunity.id}",
                _instant(settings, subscription, item),
            )
        return len(found)
    day = until.date()
    message = _digest(settings, subscription, found, day)
    _add_email(session, subscription, f"digest:{subscription.id}:{day}", message)
    return 1


def _published(
    session: Session, subscription: Subscription, after: datetime, until: datetime
) -> list[Listed]:
    team = repository.team_of(session, subscription)
    filters = ListFilters(
        team=team.slug if team else "", amount_min_cents=subscription.amount_min_cents
    )
    return opportunities_repository.published_between(session, after, until, filters)


def _skills_match(subscription: Subscription, item: Listed) -> bool:
    wanted = subscription.skill_list
    return not wanted or any(skill in wanted for skill in item.skills)


def _add_email(
    session: Session, subscription: Subscription, key: str, message: tuple[str, str]
) -> None:
    if repository.email_exists(session, key):
        return
    subject, body = message
    session.add(
        SubscriptionEmail(
            subscription_id=subscription.id, dedupe_key=key, subject=subject, body=body
        )
    )
    session.flush()


def _confirmation(settings: Settings, subscription: Subscription) -> tuple[str, str]:
    link = f"{settings.base_url}/subscriptions/confirm/{confirm_token(settings, subscription.id)}"
    with using_locale(subscription.locale):
        return _("Confirm your subscription to Dev Exchange"), _(
            "Someone, probably you, asked to receive emails about new opportunities on Dev "
            "Exchange at this address.\n\nTo start receiving them, confirm within %(days)s days:"
            "\n%(link)s\n\nIf you did not ask for this, ignore this email: nothing will be sent.",
            days=CONFIRM_LINK_DAYS,
            link=link,
        )


def _instant(settings: Settings, subscription: Subscription, item: Listed) -> tuple[str, str]:
    with using_locale(subscription.locale):
        title = localized(item.opportunity.title, item.opportunity.title_fr).text
        return _("New opportunity: %(title)s", title=title), _entry(settings, item)


def _digest(
    settings: Settings, subscription: Subscription, items: list[Listed], day: date
) -> tuple[str, str]:
    with using_locale(subscription.locale):
        subject = ngettext(
            "%(count)s new opportunity on Dev Exchange",
            "%(count)s new opportunities on Dev Exchange",
            len(items),
            count=len(items),
        )
        heading = _("New opportunities matching your subscription, %(day)s:", day=day.isoformat())
        return subject, heading + "\n\n" + "\n\n".join(_entry(settings, item) for item in items)


def _entry(settings: Settings, item: Listed) -> str:
    o = item.opportunity
    title = localized(o.title, o.title_fr).text
    facts = _(
        "%(team)s · %(amount)s · proposals until %(deadline)s",
        team=item.team_name,
        amount=format_money(o.amount_cents, o.currency),
        deadline=o.proposal_deadline.date().isoformat(),
    )
    return f"{title}\n{facts}\n{settings.base_url}/opportunities/{o.id}"


# --- the links in the emails --------------------------------------------------------------


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt="subscription")


def confirm_token(settings: Settings, subscription_id: int) -> str:
    return _serializer(settings).dumps([subscription_id, "confirm"])


def unsubscribe_token(settings: Settings, subscription_id: int) -> str:
    return _serializer(settings).dumps([subscription_id, "unsubscribe"])


def from_confirm_token(session: Session, settings: Settings, token: str) -> Subscription:
    return _from_token(
        session, settings, token, "confirm", max_age=timedelta(days=CONFIRM_LINK_DAYS)
    )


def from_unsubscribe_token(session: Session, settings: Settings, token: str) -> Subscription:
    """An unsubscribe link works for as long as the emails it came in may be read."""
    return _from_token(session, settings, token, "unsubscribe", max_age=None)


def _from_token(
    session: Session, settings: Settings, token: str, purpose: str, max_age: timedelta | None
) -> Subscription:
    invalid = _("This link is not valid. Copy the whole link from the email, or subscribe again.")
    try:
        seconds = int(max_age.total_seconds()) if max_age else None
        subscription_id, token_purpose = _serializer(settings).loads(token, max_age=seconds)
    except SignatureExpired as exc:
        raise NotFound(_("This link has expired. Subscribe again to get a new one.")) from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise NotFound(invalid) from exc
    subscription = (
        repository.get(session, subscription_id) if isinstance(subscription_id, int) else None
    )
    if token_purpose != purpose or subscription is None:
        raise NotFound(invalid)
    return subscription
