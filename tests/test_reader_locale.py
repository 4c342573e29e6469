"""Issue 14, defect 6: figures, dates and times in the reader's language, and text in another
language than the page's marked with its own (WCAG 3.1.2)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.models import Opportunity, Proposal, User
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.fake_github import FakeGitHub
from tests.support.pay_on_pull import awarded_work
from tests.support.web import post_form, sign_in

# 22:00 UTC on a winter day is 17:00 in Toronto, the platform's default zone (EST, UTC-5).
DEADLINE = datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
DELIVERY = date(2027, 1, 15)


def _awarded(client: TestClient, db: Session) -> Opportunity:
    """Scored and awarded through the pages. The winner asks 7,000.00 against a lowest price
    of 3,000.00 and gets 5/5 everywhere: 80 * 5/5 + 20 * 3,000/7,000 = 88.5714… → 88.57."""
    team = make_team(db)
    owner = make_user(db, roles={team: ["owner", "evaluator"]})
    opportunity = make_opportunity(
        db,
        team,
        state="evaluating",
        amount_cents=800_000,
        proposal_deadline=DEADLINE,
        delivery_date=DELIVERY,
        problem_statement="PROBLEM-IN-ENGLISH",
        acceptance_criteria="CRITERIA-IN-ENGLISH",
    )
    winner = make_proposal(
        db, opportunity, make_user(db), state="under_evaluation", price_cents=700_000
    )
    other = make_proposal(
        db, opportunity, make_user(db), state="under_evaluation", price_cents=300_000
    )
    db.commit()
    sign_in(client, owner)
    page = f"/opportunities/{opportunity.id}/evaluation"
    assert post_form(client, f"{page}/declaration", {"conflict": "no"}, page).status_code == 303
    for proposal, value in ((winner, 5), (other, 1)):
        _score(client, proposal, value)
    awarded = post_form(
        client,
        f"/opportunities/{opportunity.id}/award",
        {"proposal": str(winner.id), "reason": "Best value for the team."},
        page,
    )
    assert awarded.status_code == 303, awarded.text
    return opportunity


def _score(client: TestClient, proposal: Proposal, value: int) -> None:
    scores = {f"score_{key}": str(value) for key in ("understanding", "approach", "experience")}
    page = f"/proposals/{proposal.id}/evaluation"
    assert post_form(client, page, {**scores, "action": "submit"}, page).status_code == 303


def _public_page(client: TestClient, opportunity: Opportunity, lang: str) -> str:
    reader = TestClient(client.app)
    response = reader.get(f"/opportunities/{opportunity.id}?lang={lang}")
    assert response.status_code == 200
    return response.text


def test_french_page_shows_french_figures_dates_and_zone_names(
    client: TestClient, db: Session
) -> None:
    html = _public_page(client, _awarded(client, db), "fr")
    assert "une note de 88,57 sur 100" in html
    assert "88.57" not in html
    assert "15 janvier 2027" in html  # expected delivery
    assert "2027-01-15" not in html
    assert "15 janvier 2026, 17 h 00 HNE" in html  # proposals due, in the zone's French name
    assert "-0500" not in html


def test_english_page_shows_english_figures_dates_and_zone_names(
    client: TestClient, db: Session
) -> None:
    html = _public_page(client, _awarded(client, db), "en")
    assert "a score of 88.57 out of 100" in html
    assert "January 15, 2027" in html
    assert "2027-01-15" not in html
    assert "January 15, 2026, 5:00\u202fp.m. EST" in html
    assert "-0500" not in html


def test_english_text_on_a_french_page_carries_lang_en(client: TestClient, db: Session) -> None:
    team = make_team(db)
    english_only = make_opportunity(
        db, team, state="published", title="ENGLISH-TITLE", problem_statement="PROBLEM-EN"
    )
    db.commit()
    french = _public_page(client, english_only, "fr")
    assert re.search(r'<h1 lang="en">ENGLISH-TITLE</h1>', french)
    assert re.search(r'<div lang="en"><p>PROBLEM-EN</p>', french)
    english = _public_page(client, english_only, "en")
    assert "<h1>ENGLISH-TITLE</h1>" in english
    assert 'lang="en"><p>' not in english
    # Its card in the French listing too.
    listing = TestClient(client.app).get("/opportunities?lang=fr").text
    card = f'<h3 id="opp-{english_only.id}" lang="en"><a href="/opportunities/{english_only.id}">'
    assert card + "ENGLISH-TITLE</a></h3>" in listing


def test_french_text_is_french_on_french_pages_and_unmarked_there(
    client: TestClient, db: Session
) -> None:
    team = make_team(db)
    both = make_opportunity(
        db,
        team,
        state="published",
        title="TITLE-EN",
        title_fr="TITRE-FR",
        problem_statement="PROBLEM-EN",
        problem_statement_fr="PROBLEME-FR",
        acceptance_criteria="CRITERIA-EN",
        acceptance_criteria_fr="CRITERES-FR",
    )
    db.commit()
    french = _public_page(client, both, "fr")
    assert "<h1>TITRE-FR</h1>" in french
    assert "<div><p>PROBLEME-FR</p>" in french
    assert "<div><p>CRITERES-FR</p>" in french


def _editor_form(client: TestClient, db: Session, lang: str) -> str:
    team = make_team(db)
    editor: User = make_user(db, roles={team: ["editor"]})
    draft = make_opportunity(db, team, title_fr="TITRE", problem_statement_fr="PROBLEME")
    db.commit()
    sign_in(client, editor)
    response = client.get(f"/opportunities/{draft.id}/edit?lang={lang}")
    assert response.status_code == 200
    return response.text


def _tag(html: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea) id="field-{name}"[^>]*>', html)
    assert match, name
    return match.group(0)


def test_the_french_fields_are_french_on_the_english_form(client: TestClient, db: Session) -> None:
    html = _editor_form(client, db, "en")
    for name in ("title_fr", "problem_statement_fr", "acceptance_criteria_fr"):
        assert 'lang="fr"' in _tag(html, name), name


def test_the_english_fields_are_english_on_the_french_form(client: TestClient, db: Session) -> None:
    html = _editor_form(client, db, "fr")
    for name in ("title", "problem_statement", "acceptance_criteria"):
        assert 'lang="en"' in _tag(html, name), name


def test_an_english_title_on_the_french_funding_page_says_it_is_english(
    client: TestClient, db: Session, fake_github: FakeGitHub
) -> None:
    work = awarded_work(db, fake_github)
    sign_in(client, work.finance)
    html = client.get(f"/opportunities/{work.opportunity_id}/funding?lang=fr").text
    assert f'<a href="/opportunities/{work.opportunity_id}" lang="en">' in html


def test_an_award_reason_typed_in_english_says_so_on_the_french_page(
    client: TestClient, db: Session
) -> None:
    opportunity = _awarded(client, db)  # the owner works in English
    assert '<span lang="en">Best value for the team.</span>' in _public_page(
        client, opportunity, "fr"
    )
    assert "<span>Best value for the team.</span>" in _public_page(client, opportunity, "en")
