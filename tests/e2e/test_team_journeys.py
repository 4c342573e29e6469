"""Journeys of the government side, in English and in French, with axe-core on every page:
a team drafts, a peer reviews, the team publishes; evaluators score and the owner awards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Opportunity
from app.models.base import utcnow
from tests.e2e.conftest import check, sign_in_as
from tests.support.factories import (
    make_opportunity,
    make_proposal,
    make_team,
    make_user,
    state_of,
)
from tests.support.fake_github import FakeGitHub


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_team_drafts_a_peer_reviews_and_the_team_publishes(
    page: Page, live_server: str, db: Session, fake_github: FakeGitHub, lang: str
) -> None:
    fake_github.add_repository("gc-demo/forms", 5150)
    fake_github.add_issue("gc-demo/forms", 31)
    team = make_team(db, slug="forms", name="Forms Team")
    other = make_team(db, slug="data", name="Data Team")
    make_user(db, name="Olivia Owner", roles={team: ["owner"]}, terms_version="2026-11")
    make_user(db, name="Abe Approver", roles={team: ["approver"]}, terms_version="2026-11")
    make_user(db, name="Pat Peer", roles={other: ["editor"]}, terms_version="2026-11")
    db.commit()

    sign_in_as(page, live_server, "Olivia Owner", lang)
    page.goto(f"{live_server}/teams/forms")
    check(page, f"{lang}-team")
    page.locator('a[href="/teams/forms/opportunities/new"]').click()
    check(page, f"{lang}-new-opportunity")
    page.locator("#field-title").fill("Announce validation errors")
    page.locator("#field-problem_statement").fill("Screen reader users miss **errors**.")
    page.locator("#field-acceptance_criteria").fill("- Errors are announced")
    page.locator("#field-amount").fill("4500")
    later = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#field-proposal_deadline").fill(later)
    page.locator("#field-github_issue_url").fill("https://github.com/gc-demo/forms/issues/31")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("status")).to_be_visible()
    check(page, f"{lang}-draft")
    page.locator('form[action$="/peer-review"] button').click()

    sign_in_as(page, live_server, "Pat Peer", lang)
    page.goto(f"{live_server}/reviews")
    check(page, f"{lang}-review-queue")
    page.locator('main a[href$="/review"]').first.click()
    check(page, f"{lang}-review-form")
    page.locator("#check-states_a_problem").check()
    page.locator("#field-comment_problem").fill("Say how many people are affected.")
    page.locator("main form button[type=submit]").click()

    sign_in_as(page, live_server, "Olivia Owner", lang)
    opportunity = db.scalars(select(Opportunity)).one()
    page.goto(f"{live_server}/opportunities/{opportunity.id}")
    expect(page.locator("#reviews")).to_contain_text("Say how many people are affected.")
    check(page, f"{lang}-draft-reviewed")
    page.locator('form[action$="/peer-review/end"] button').click()
    # Olivia wrote the draft: another approver signs it off, which publishes it (issue 16).
    expect(page.locator('form[action$="/publish"]')).to_have_count(0)
    sign_in_as(page, live_server, "Abe Approver", lang)
    page.goto(f"{live_server}/opportunities/{opportunity.id}")
    page.locator('form[action$="/publish"] button').click()
    expect(page.get_by_role("status")).to_be_visible()
    check(page, f"{lang}-published")
    assert state_of(db, Opportunity, opportunity.id) == "published"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_evaluator_declares_scores_and_the_owner_awards(
    page: Page, live_server: str, db: Session, lang: str
) -> None:
    team = make_team(db, slug="forms")
    make_user(db, name="Olivia Owner", roles={team: ["owner"]}, terms_version="2026-11")
    make_user(db, name="Eve Evaluator", roles={team: ["evaluator"]}, terms_version="2026-11")
    bidder = make_user(db, login="bidder-one", name="Bea Bidder")
    opp = make_opportunity(
        db,
        team,
        state="evaluating",
        title="Announce errors",
        proposal_deadline=utcnow() - timedelta(hours=2),
    )
    make_proposal(db, opp, bidder, state="under_evaluation", approach="Use aria-live.")
    db.commit()

    sign_in_as(page, live_server, "Eve Evaluator", lang)
    page.goto(f"{live_server}/opportunities/{opp.id}/evaluation")
    check(page, f"{lang}-evaluation-declaration")
    page.locator("#conflict-no").check()
    page.locator('form[action$="/declaration"] button').click()
    page.locator('main a[href$="/evaluation"]').first.click()
    check(page, f"{lang}-score")
    for key in ("understanding", "approach", "experience"):
        page.locator(f"#field-score_{key}").fill("4")
    page.locator('button[value="submit"]').click()
    check(page, f"{lang}-evaluation-done")

    sign_in_as(page, live_server, "Olivia Owner", lang)
    page.goto(f"{live_server}/opportunities/{opp.id}/evaluation")
    check(page, f"{lang}-consensus")
    page.locator('form[action$="/award"] button').click()
    expect(page.locator("#award-title")).to_be_visible()
    check(page, f"{lang}-award-notice")
    expect(page.locator("main")).to_contain_text("@bidder-one")
