"""Issue 19, done means 4: email subscriptions. A new opportunity reaches an instant subscriber
once and a digest subscriber once a day, in their language; unsubscribing stops both; double
opt-in; a refused address never holds up other mail.

The clock is moved (time_machine), never waited for. The digest hour is the default, 11:00 UTC,
and a publication is considered a minute after it happened (it must have committed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import Opportunity, Subscription, Team
from app.subscriptions.tasks import deliver_pending, queue_new_opportunities
from tests.support.factories import make_opportunity, make_team
from tests.support.smtp import SmtpServer
from tests.support.web import post_form

START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # a Thursday, before the day's digest


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(update={"smtp_url": smtp.url})


class Mail:
    """The jobs as a worker runs them, and what reached the mail server."""

    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, smtp: SmtpServer
    ) -> None:
        self.factory, self.settings, self.smtp = factory, settings, smtp

    def run(self, times: int = 1) -> None:
        for _ in range(times):
            queue_new_opportunities(self.factory, self.settings)
            deliver_pending(self.factory, self.settings)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.smtp.messages if m["To"] == address]

    def path_in(self, message: EmailMessage, prefix: str) -> str:
        found = re.search(re.escape(self.settings.base_url + prefix) + r"\S+", _text(message))
        assert found, f"no {prefix} link in {_text(message)!r}"
        return found.group(0).removeprefix(self.settings.base_url)


@pytest.fixture
def mail(factory: sessionmaker[Session], mail_settings: Settings, smtp: SmtpServer) -> Mail:
    return Mail(factory, mail_settings, smtp)


def _text(message: EmailMessage) -> str:
    return str(message.get_content())


def _subscribe(client: TestClient, email: str, **fields: str) -> int:
    response = post_form(
        client, "/subscribe", {"email": email, "frequency": "instant", **fields}, page="/subscribe"
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/subscribe/sent"
    return response.status_code


def _confirmed(
    client: TestClient, mail: Mail, clock: time_machine.Traveller, email: str, **fields: str
) -> None:
    """Subscribed and confirmed through the link of the confirmation email, as a person does;
    then a minute passes (what is published at the very instant of confirming is not owed)."""
    _subscribe(client, email, **fields)
    mail.run()
    confirmation = mail.to(email)[-1]
    path = mail.path_in(confirmation, "/subscriptions/confirm/")
    assert post_form(client, path, {}, page=path).status_code == 200
    clock.shift(timedelta(minutes=1))


def _published(db: Session, team: Team, **fields: Any) -> Opportunity:
    opportunity = make_opportunity(db, team, state="published", **fields)
    db.commit()
    return opportunity


def test_double_opt_in_then_each_new_opportunity_once_in_the_subscribers_language(
    client: TestClient, db: Session, mail: Mail, clock: time_machine.Traveller
) -> None:
    team = make_team(db, name="Équipe")
    client.headers["Accept-Language"] = "fr-CA"
    _subscribe(client, "lea@example.ca", skills="Python, accessibilité")
    mail.run()
    [confirmation] = mail.to("lea@example.ca")
    assert confirmation["Subject"] == "Confirmez votre abonnement à Dev Exchange"

    # Not confirmed yet: a matching opportunity is not sent.
    _published(db, team, skills=("python",))
    clock.shift(timedelta(minutes=5))
    mail.run()
    assert len(mail.to("lea@example.ca")) == 1

    path = mail.path_in(confirmation, "/subscriptions/confirm/")
    page = client.get(path)  # a mail scanner opening the link confirms nothing
    assert page.status_code == 200
    assert "Confirmer mon abonnement" in page.text
    clock.shift(timedelta(minutes=5))
    mail.run()
    assert len(mail.to("lea@example.ca")) == 1
    done = post_form(client, path, {}, page=path)
    assert done.status_code == 200
    assert "Vous êtes abonné" in done.text

    clock.shift(timedelta(minutes=1))
    wanted = _published(
        db,
        team,
        skills=("python", "django"),
        title="Fix the form",
        title_fr="Corriger le formulaire",
    )
    _published(db, team, skills=("java",))  # no skill in common
    clock.shift(timedelta(minutes=2))
    mail.run(times=3)
    [_confirmation, sent] = mail.to("lea@example.ca")
    assert sent["Subject"] == "Nouvelle occasion : Corriger le formulaire"
    assert f"/opportunities/{wanted.id}" in _text(sent)
    assert "Ne plus recevoir ces courriels" in _text(sent)
    assert sent["List-Unsubscribe"].startswith(f"<{mail.settings.base_url}/subscriptions/")
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_daily_digest_once_a_day_with_what_matched_since_the_last(
    client: TestClient, db: Session, mail: Mail, clock: time_machine.Traveller
) -> None:
    team, other_team = make_team(db, slug="cds"), make_team(db, slug="other")
    db.commit()
    _confirmed(
        client, mail, clock, "sam@example.com", frequency="daily", team="cds", amount_min="500"
    )
    first = _published(db, team, amount_cents=100_000, title="First")
    _published(db, team, amount_cents=40_000, title="Too small")  # under $500
    _published(db, other_team, amount_cents=100_000, title="Another team")
    clock.shift(timedelta(hours=1))
    second = _published(db, team, amount_cents=50_000, title="Second")  # exactly $500
    clock.move_to(START.replace(hour=10, minute=59))
    mail.run()
    assert len(mail.to("sam@example.com")) == 1  # only the confirmation: not digest time yet

    clock.move_to(START.replace(hour=11, minute=2))
    mail.run(times=3)
    [_confirmation, digest] = mail.to("sam@example.com")
    assert digest["Subject"] == "2 new opportunities on Dev Exchange"
    body = _text(digest)
    assert f"/opportunities/{first.id}" in body
    assert f"/opportunities/{second.id}" in body
    assert "Too small" not in body
    assert "Another team" not in body

    clock.move_to(START.replace(hour=15))
    third = _published(db, team, title="Third")
    clock.move_to(START.replace(hour=23))
    mail.run()
    assert len(mail.to("sam@example.com")) == 2  # one digest a day

    clock.move_to(START.replace(hour=11, minute=5) + timedelta(days=1))
    mail.run(times=2)
    [_, _, next_day] = mail.to("sam@example.com")
    assert next_day["Subject"] == "1 new opportunity on Dev Exchange"
    assert f"/opportunities/{third.id}" in _text(next_day)
    assert f"/opportunities/{first.id}" not in _text(next_day)

    clock.move_to(START.replace(hour=11, minute=5) + timedelta(days=2))
    mail.run()
    assert len(mail.to("sam@example.com")) == 3  # nothing new, no email


def test_one_click_unsubscribe_stops_instant_and_digest_alike(
    client: TestClient, db: Session, mail: Mail, clock: time_machine.Traveller
) -> None:
    team = make_team(db)
    db.commit()
    _confirmed(client, mail, clock, "now@example.com", frequency="instant")
    _confirmed(client, mail, clock, "daily@example.com", frequency="daily")
    _published(db, team)
    clock.shift(timedelta(minutes=2))
    queue_new_opportunities(mail.factory, mail.settings)  # written, not sent yet
    mail.run()
    [_confirmation, sent] = mail.to("now@example.com")
    [daily_confirmation] = mail.to("daily@example.com")

    for message in (sent, daily_confirmation):
        link = message["List-Unsubscribe"].strip("<>").removeprefix(mail.settings.base_url)
        for _twice in range(2):  # a mail client posts without cookies (RFC 8058)
            answer = TestClient(client.app).post(link, data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 200

    _published(db, team)
    clock.shift(timedelta(days=1, hours=4))  # past the next digest moment
    mail.run(times=2)
    assert len(mail.to("now@example.com")) == 2
    assert len(mail.to("daily@example.com")) == 1
    states = set(db.scalars(select(Subscription.state)))
    assert states == {"ended"}


def test_a_refused_address_ends_its_subscription_and_holds_up_nobody(
    client: TestClient,
    db: Session,
    mail: Mail,
    smtp: SmtpServer,
    clock: time_machine.Traveller,
) -> None:
    team = make_team(db)
    db.commit()
    _confirmed(client, mail, clock, "gone@example.com")
    _confirmed(client, mail, clock, "here@example.com")
    smtp.recorder.refused.add("gone@example.com")
    _published(db, team)
    clock.shift(timedelta(minutes=2))
    mail.run()
    assert len(mail.to("here@example.com")) == 2
    db.expire_all()
    gone = db.scalars(select(Subscription).where(Subscription.email == "gone@example.com")).one()
    assert (gone.state, gone.ended_reason) == ("ended", "bounced")
    _published(db, team)
    clock.shift(timedelta(minutes=2))
    mail.run()
    assert len(mail.to("here@example.com")) == 3
    assert len(mail.to("gone@example.com")) == 1  # the confirmation, before it bounced


def test_mistakes_are_explained_on_the_form_and_nothing_is_stored(
    client: TestClient, db: Session
) -> None:
    response = post_form(
        client,
        "/subscribe",
        {
            "email": "not an address",
            "team": "no-such-team",
            "amount_min": "lots",
            "frequency": "weekly",
        },
        page="/subscribe",
    )
    assert response.status_code == 422
    for field in ("email", "team", "amount_min", "frequency"):
        assert f'href="#field-{field}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert "not an address" in response.text  # what was typed stays
    assert db.scalars(select(Subscription)).all() == []


def test_the_form_cannot_flood_an_inbox(client: TestClient, mail: Mail) -> None:
    for _ in range(5):
        _subscribe(client, "target@example.com")
    mail.run()
    assert len(mail.to("target@example.com")) == 3  # the day's allowance of confirmations


def test_a_confirmation_link_expires_and_a_forged_one_is_refused(
    client: TestClient, mail: Mail, clock: time_machine.Traveller
) -> None:
    _subscribe(client, "late@example.com")
    mail.run()
    path = mail.path_in(mail.to("late@example.com")[0], "/subscriptions/confirm/")
    clock.shift(timedelta(days=8))
    expired = client.get(path)
    assert expired.status_code == 404
    assert "expired" in expired.text
    assert client.get(path[:-3] + "abc").status_code == 404
    unsubscribe_as_confirm = "/subscriptions/unsubscribe/" + path.rsplit("/", 1)[1]
    assert client.get(unsubscribe_as_confirm).status_code == 404


def test_a_search_offers_its_filters_as_a_subscription(client: TestClient, db: Session) -> None:
    make_team(db, slug="cds", name="Digital Service")
    db.commit()
    listing = client.get("/opportunities?skill=python&team=cds&amount_min=250")
    link = re.search(r'href="(/subscribe\?[^"]+)"', listing.text)
    assert link
    form = client.get(link.group(1).replace("&amp;", "&"))
    assert 'name="skills" type="text" value="python"' in form.text
    assert '<option value="cds" selected>' in form.text
    assert 'name="amount_min" type="text" value="250"' in form.text
