"""Journeys per role, in English and in French: a developer, a team owner, finance, an evaluator
and an administrator sign in, land on the home page, and reach every action waiting for them
from "My work" or "Needs you" in two clicks (the menu link, then the item's link).

axe-core checks every page at 1280 px; each page is also shown at 320, 768 and 1280 px, must
reflow without sideways scrolling, and is saved in screenshots/ for people to look at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from app.models import (
    Award,
    ConflictDeclaration,
    EvaluationSubmission,
    Opportunity,
    Proposal,
    Question,
    SpendingSignoff,
    Team,
    User,
)
from app.models.base import utcnow
from tests.e2e.conftest import SCREENSHOTS, check, sign_in_as
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user

WIDTHS = (320, 768, 1280)
TERMS = "2026-11"
WORDS = {
    "en": {"my_work": "My work", "needs_you": "Needs you", "to_do": "to do"},
    "fr": {"my_work": "Mon travail", "needs_you": "Vous attend", "to_do": "à faire"},
}


@dataclass(frozen=True)
class Action:
    """An item of the list, and what shows that its page offers the action."""

    name: str
    link: str
    offered: str  # a selector on the page the item opens


def look(page: Page, name: str) -> None:
    check(page, name)  # axe-core, at the desktop width
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} scrolls sideways at {width} px ({scroll} px wide)"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}px.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def journey(
    page: Page,
    base: str,
    *,
    person: str,
    lang: str,
    menu: str,
    actions: list[Action],
    role: str,
) -> None:
    """Signs in, then from the home page: the menu link (click 1), each item's link (click 2)
    to the page where its action is offered, and back to the list for the next one."""
    words = WORDS[lang]
    sign_in_as(page, base, person, lang)
    expect(page).to_have_url(f"{base}/")
    prefix = f"roles-{lang}-{role}"
    look(page, f"{prefix}-home")
    label = words["my_work"] if menu == "/my-work" else words["needs_you"]
    link = page.locator(f'header a[href="{menu}"]')
    # The count is part of the link's name, with what it counts, for screen readers too.
    expect(link).to_have_accessible_name(f"{label} ({len(actions)} {words['to_do']})")
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(label)
    look(page, f"{prefix}-list")
    listed = page.locator("main a.work-action")
    expect(listed).to_have_count(len(actions))
    for action in actions:
        page.locator(f'main a.work-action[href="{action.link}"]').click()
        expect(page.locator(action.offered).first).to_be_visible()
        look(page, f"{prefix}-{action.name}")
        page.go_back()


def _people(db: Session) -> tuple[Team, dict[str, User]]:
    team = make_team(db, slug="forms", name="Forms Team")
    people = {
        # Owner and approver: publishing is an approver's sign-off (issue 16).
        "owner": make_user(
            db, name="Olivia Owner", roles={team: ["owner", "approver"]}, terms_version=TERMS
        ),
        "evaluator": make_user(
            db, name="Eve Evaluator", roles={team: ["evaluator"]}, terms_version=TERMS
        ),
        "finance": make_user(
            db, name="Fiona Finance", roles={team: ["finance"]}, terms_version=TERMS
        ),
        "developer": make_user(db, login="dana-dev", name="Dana Developer", terms_version=TERMS),
        "other": make_user(db, login="bea-dev", name="Bea Bidder", terms_version=TERMS),
        "admin": make_user(db, login="ada-admin", name="Ada Admin", is_admin=True),
    }
    return team, people


def _award(db: Session, opportunity: Opportunity, developer: User) -> Award:
    proposal = make_proposal(db, opportunity, developer, state="awarded")
    award = Award(
        opportunity_id=opportunity.id,
        proposal_id=proposal.id,
        reason="Top-ranked proposal.",
        accept_by=utcnow() + timedelta(days=5),
    )
    db.add(award)
    db.flush()
    return award


def _signed_off(db: Session, opportunity: Opportunity, award: Award, approver: User) -> None:
    """An approver signed off the award's price: finance may fund it (issue 16)."""
    proposal = db.get(Proposal, award.proposal_id)
    assert proposal is not None
    db.add(
        SpendingSignoff(
            team_id=opportunity.team_id,
            opportunity_id=opportunity.id,
            award_id=award.id,
            purpose="fund",
            amount_cents=proposal.price_cents,
            currency=proposal.currency,
            signed_by_user_id=approver.id,
        )
    )


def _past() -> datetime:
    return utcnow() - timedelta(hours=2)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_developer_reaches_each_action_from_my_work(
    page: Page, live_server: str, db: Session, lang: str
) -> None:
    team, people = _people(db)
    awarded = make_opportunity(
        db, team, state="awarded", title="Bounce handling", proposal_deadline=_past()
    )
    _award(db, awarded, people["developer"])
    open_ = make_opportunity(
        db, team, state="published", title="Announce errors", title_fr="Annoncer les erreurs"
    )
    make_proposal(db, open_, people["developer"], state="draft", submitted_at=None)
    db.commit()

    journey(
        page,
        live_server,
        person="Dana Developer",
        lang=lang,
        menu="/my-work",
        role="developer",
        actions=[
            Action(
                "accept",
                f"/opportunities/{awarded.id}/proposal",
                'main form[action$="/award/accept"] button',
            ),
            Action("payout-account", "/account/payouts", 'main form[action$="/connect"] button'),
            Action(
                "finish-proposal",
                f"/opportunities/{open_.id}/proposal",
                'main button[value="submit"]',
            ),
        ],
    )
    # The award notice on the opportunity offers the contract too; accepting it leaves two.
    page.goto(f"{live_server}/opportunities/{awarded.id}")
    look(page, f"roles-{lang}-developer-award-notice")
    page.locator('main form[action$="/award/accept"] button').click()
    page.goto(f"{live_server}/")
    expect(page.locator('header a[href="/my-work"]')).to_have_accessible_name(
        f"{WORDS[lang]['my_work']} (2 {WORDS[lang]['to_do']})"
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_team_owner_reaches_each_action_from_needs_you(
    page: Page, live_server: str, db: Session, lang: str
) -> None:
    team, people = _people(db)
    draft = make_opportunity(db, team, state="draft", title="Keyboard traps")
    open_ = make_opportunity(db, team, state="published", title="Announce errors")
    question = Question(
        opportunity_id=open_.id, asker_user_id=people["other"].id, body="Is there test data?"
    )
    db.add(question)
    ready = make_opportunity(
        db, team, state="evaluating", title="Date picker", proposal_deadline=_past()
    )
    proposal = make_proposal(db, ready, people["other"], state="under_evaluation")
    db.add(EvaluationSubmission(proposal_id=proposal.id, evaluator_user_id=people["evaluator"].id))
    empty = make_opportunity(
        db, team, state="evaluating", title="Print styles", proposal_deadline=_past()
    )
    held = make_opportunity(
        db, team, state="on_hold", title="Export to CSV", proposal_deadline=_past()
    )
    db.commit()

    journey(
        page,
        live_server,
        person="Olivia Owner",
        lang=lang,
        menu="/needs-you",
        role="owner",
        actions=[
            Action(
                "approve-draft",
                f"/opportunities/{draft.id}#team-actions",
                'main form[action$="/publish"] button',
            ),
            Action(
                "answer-question",
                f"/opportunities/{open_.id}#answer-{question.id}",
                f"#answer-{question.id}",
            ),
            Action(
                "award",
                f"/opportunities/{ready.id}/evaluation",
                'main form[action$="/award"] button',
            ),
            Action(
                "reopen",
                f"/opportunities/{empty.id}/evaluation",
                'main form[action$="/reopen"] button',
            ),
            Action("on-hold", f"/opportunities/{held.id}", "main .notice[role=status]"),
        ],
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_finance_reaches_each_action_from_needs_you(
    page: Page, live_server: str, db: Session, lang: str
) -> None:
    team, people = _people(db)
    awarded = make_opportunity(
        db, team, state="awarded", title="Bounce handling", proposal_deadline=_past()
    )
    _signed_off(db, awarded, _award(db, awarded, people["developer"]), people["owner"])
    held = make_opportunity(
        db, team, state="on_hold", title="Export to CSV", proposal_deadline=_past()
    )
    db.commit()

    journey(
        page,
        live_server,
        person="Fiona Finance",
        lang=lang,
        menu="/needs-you",
        role="finance",
        actions=[
            Action(
                "fund",
                f"/opportunities/{awarded.id}/funding",
                f'main form[action="/opportunities/{awarded.id}/funding"] button',
            ),
            Action("on-hold", f"/opportunities/{held.id}", "main .notice[role=status]"),
        ],
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_evaluator_reaches_each_action_from_needs_you(
    page: Page, live_server: str, db: Session, lang: str
) -> None:
    team, people = _people(db)
    to_declare = make_opportunity(
        db, team, state="evaluating", title="Date picker", proposal_deadline=_past()
    )
    make_proposal(db, to_declare, people["developer"], state="under_evaluation")
    to_score = make_opportunity(
        db, team, state="evaluating", title="Print styles", proposal_deadline=_past()
    )
    db.add(
        ConflictDeclaration(
            opportunity_id=to_score.id, user_id=people["evaluator"].id, has_conflict=False
        )
    )
    next_one = make_proposal(db, to_score, people["other"], state="under_evaluation")
    db.commit()

    journey(
        page,
        live_server,
        person="Eve Evaluator",
        lang=lang,
        menu="/needs-you",
        role="evaluator",
        actions=[
            Action(
                "declare",
                f"/opportunities/{to_declare.id}/evaluation",
                'main form[action$="/evaluation/declaration"] button',
            ),
            Action(
                "score",
                f"/proposals/{next_one.id}/evaluation",
                'main button[value="submit"]',
            ),
        ],
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_administrator_reaches_each_action_from_needs_you(
    page: Page, live_server: str, db: Session, lang: str
) -> None:
    team, _ = _people(db)
    make_team(db, slug="new-team", name="New Team", approved_at=None)
    held = make_opportunity(
        db, team, state="on_hold", title="Export to CSV", proposal_deadline=_past()
    )
    db.commit()

    journey(
        page,
        live_server,
        person="Ada Admin",
        lang=lang,
        menu="/needs-you",
        role="admin",
        actions=[
            Action(
                "approve-team", "/admin", 'main form[action="/admin/teams/new-team/approve"] button'
            ),
            Action(
                "held-payment",
                f"/admin/attention#held-{held.id}",
                f'main form[action="/admin/attention/{held.id}/release"] button',
            ),
        ],
    )
