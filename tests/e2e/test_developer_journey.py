"""Journey: a developer signs in, asks a question and proposes, in English and in French.
axe-core checks every page the journey visits; screenshots go to screenshots/ for review."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Proposal, Question
from tests.e2e.conftest import check
from tests.support.factories import make_opportunity, make_team, make_user

WORDS = {
    "en": {
        "sign_in": "Sign in",
        "ask": "Send the question",
        "write": "Write or change your proposal",
        "submit": "Submit proposal",
        "asked": "Your question was sent",
        "submitted": "Your proposal is submitted",
        "approach": "Your approach",
        "price": "Your price",
        "open_data": "Open data",
    },
    "fr": {
        "sign_in": "Se connecter",
        "ask": "Envoyer la question",
        "write": "Rédiger ou modifier votre proposition",
        "submit": "Soumettre la proposition",
        "asked": "Votre question a été envoyée",
        "submitted": "Votre proposition est soumise",
        "approach": "Votre approche",
        "price": "Votre prix",
        "open_data": "Données ouvertes",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_developer_signs_in_asks_and_proposes(
    page: Page, live_server: str, db: Session, lang: str
) -> None:
    words = WORDS[lang]
    team = make_team(db, name="Forms Team")
    make_user(db, login="sam-dev", name="Sam Developer", terms_version="2026-11")
    opp = make_opportunity(
        db,
        team,
        state="published",
        title="Announce errors",
        title_fr="Annoncer les erreurs",
        amount_cents=500_000,
    )
    db.commit()

    page.goto(f"{live_server}/?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    check(page, f"{lang}-home")
    # The public record, reached from every page's footer.
    page.get_by_role("link", name=words["open_data"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["open_data"])
    check(page, f"{lang}-open-data")

    page.goto(f"{live_server}/demo-sign-in")
    check(page, f"{lang}-demo-sign-in")
    page.get_by_label("Sam Developer (@sam-dev)", exact=False).check()
    page.get_by_role("button", name=words["sign_in"], exact=True).click()

    page.goto(f"{live_server}/opportunities/{opp.id}")
    check(page, f"{lang}-opportunity")
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    check(page, f"{lang}-opportunity-375px")
    # 400 % zoom of a 1280 px window (WCAG 1.4.10): the public pages reflow into 320 px.
    page.set_viewport_size({"width": 320, "height": 800})
    for path in ("/", "/opportunities", f"/opportunities/{opp.id}", "/opendata"):
        page.goto(f"{live_server}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/opportunities/{opp.id}")
    page.locator("#field-question").fill("Is there test data for the form?")
    page.get_by_role("button", name=words["ask"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["asked"])

    page.get_by_role("link", name=words["write"]).click()
    check(page, f"{lang}-proposal-form")
    page.get_by_label(words["approach"]).fill("Add an aria-live region and a test for it.")
    count = "9 of 400 words" if lang == "en" else "9 mots sur 400"
    expect(page.locator("#approach-count")).to_have_text(count)  # the live word count
    page.get_by_label(words["price"]).fill("4000")
    page.locator("#field-accept_terms").check()
    page.locator("#field-attest_eligibility").check()
    page.get_by_role("button", name=words["submit"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["submitted"])
    check(page, f"{lang}-proposal-submitted")

    db.expire_all()
    assert db.scalars(select(Proposal.state)).all() == ["submitted"]
    assert db.scalars(select(Question.body)).all() == ["Is there test data for the form?"]


def test_an_invalid_proposal_is_explained_and_the_summary_links_to_the_field(
    page: Page, live_server: str, db: Session
) -> None:
    team = make_team(db)
    make_user(db, login="sam-dev", name="Sam Developer", terms_version="2026-11")
    opp = make_opportunity(db, team, state="published", amount_cents=100_000)
    db.commit()
    page.goto(f"{live_server}/demo-sign-in")
    page.get_by_label("Sam Developer (@sam-dev)", exact=False).check()
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(f"{live_server}/opportunities/{opp.id}/proposal")
    page.get_by_label("Your price").fill("999999")
    page.get_by_role("button", name="Submit proposal").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    check(page, "en-proposal-errors")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id").startswith("field-")
