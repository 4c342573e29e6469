"""Journey: a visitor subscribes to new opportunities by email from a search, corrects a mistake,
confirms from the email's link and later unsubscribes, in English and in French; axe-core checks
every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Subscription
from app.subscriptions.service import confirm_token, unsubscribe_token
from tests.e2e.conftest import check
from tests.support.factories import make_team

WORDS = {
    "en": {
        "by_email": "Get them by email",
        "email": "Email address",
        "daily": "A daily digest",
        "subscribe": "Subscribe",
        "problem": "There is a problem",
        "sent": "Check your inbox",
        "confirm": "Confirm my subscription",
        "subscribed": "You are subscribed",
        "unsubscribe": "Unsubscribe",
        "stopped": "You will no longer receive emails",
    },
    "fr": {
        "by_email": "Les recevoir par courriel",
        "email": "Adresse courriel",
        "daily": "Un résumé quotidien",
        "subscribe": "S’abonner",  # noqa: RUF001 - French typography
        "problem": "Il y a un problème",
        "sent": "Consultez votre boîte de réception",
        "confirm": "Confirmer mon abonnement",
        "subscribed": "Vous êtes abonné",
        "unsubscribe": "Se désabonner",
        "stopped": "Vous ne recevrez plus de courriels",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_visitor_subscribes_confirms_and_unsubscribes(
    page: Page, live_server: str, db: Session, settings: Settings, lang: str
) -> None:
    words = WORDS[lang]
    make_team(db, slug="cds", name="Digital Service")
    db.commit()
    page.goto(f"{live_server}/opportunities?team=cds&lang={lang}")
    page.get_by_role("link", name=words["by_email"]).click()
    expect(page.locator("#field-team")).to_have_value("cds")
    check(page, f"{lang}-subscribe")

    page.get_by_label(words["email"]).fill("not an address")
    page.get_by_label(words["daily"]).check()
    page.get_by_role("button", name=words["subscribe"], exact=True).click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(words["problem"])
    check(page, f"{lang}-subscribe-errors")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "field-email"

    page.get_by_label(words["email"]).fill("lea@example.ca")
    page.get_by_role("button", name=words["subscribe"], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["sent"])
    check(page, f"{lang}-subscribe-sent")

    subscription = db.scalars(select(Subscription)).one()
    assert (subscription.locale, subscription.frequency) == (lang, "daily")
    page.goto(f"{live_server}/subscriptions/confirm/{confirm_token(settings, subscription.id)}")
    check(page, f"{lang}-subscription-confirm")
    page.get_by_role("button", name=words["confirm"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["subscribed"])
    check(page, f"{lang}-subscription-confirmed")

    page.goto(
        f"{live_server}/subscriptions/unsubscribe/{unsubscribe_token(settings, subscription.id)}"
    )
    check(page, f"{lang}-subscription-unsubscribe")
    page.get_by_role("button", name=words["unsubscribe"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["stopped"])
    check(page, f"{lang}-subscription-ended")
    db.expire_all()
    assert db.scalars(select(Subscription.state)).one() == "ended"
