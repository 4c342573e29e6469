"""Issue 17, tried as a new team would, in English and in French, with axe-core on every page:
the owner installs the platform's GitHub App on an organisation with two repositories (the
fake GitHub's install page), links an issue, publishes; the work is awarded, funded, merged,
and paid once; the narration on the issue is posted as the app, and no secret ever reaches a
page the team sees.

It runs the way `make run` does with the app configured: local mode, no Stripe keys (the
simulated gateway), jobs in the web process. The test plays GitHub's part: the signed
installation and merge deliveries, and the pull request the API reports."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx2
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import (
    GitHubInstallation,
    IssueComment,
    LedgerEntry,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutTransfer,
    Team,
    User,
)
from app.models.base import utcnow
from tests.e2e.conftest import check, local_mode_server, sign_in_as
from tests.support.factories import make_proposal, make_team, make_user, state_of
from tests.support.fake_github import FakeGitHub
from tests.support.github_app import APP_WEBHOOK_SECRET, app_settings, installation_event
from tests.support.pay_on_pull import (
    AWARDEE_ID,
    ISSUE,
    PULL,
    REPO,
    REPO_ID,
    api_pull,
    delivery_headers,
    merged_payload,
)

INSTALLATION, ORG, ORG_ID = 55_001, "gc-demo", 7_001
OTHER_REPO, OTHER_REPO_ID = "gc-demo/maps", 424_243
OWNER_GITHUB_ID = 8_001
SLUG = "forms"
TERMS = "2026-11"
BID = 240_000  # the developer's price, below the 4 500 $ budget: the contract's amount
# How the pages say it, in the reader's language.
CONNECTED = {"en": "Connected", "fr": "Connecté"}
INSTALLATION_CONNECTED = {"en": "Connected.", "fr": "Connectée."}
LINKED = {
    "en": "Connected through the Dev Exchange GitHub App",
    "fr": "Connecté par l’application GitHub de Dev Exchange",  # noqa: RUF001 - French typography
}


@dataclass(frozen=True)
class Live:
    url: str
    settings: Settings


@pytest.fixture
def live(settings: Settings, engine: object, fake_github: FakeGitHub) -> Iterator[Live]:
    server, config = local_mode_server(app_settings(settings, fake_github))
    # The organisation on GitHub: two repositories, the issue in one; what its install page
    # installs, and where GitHub sends the person back (the app's setup URL).
    fake_github.add_repository(REPO, REPO_ID)
    fake_github.add_repository(OTHER_REPO, OTHER_REPO_ID)
    fake_github.add_issue(REPO, ISSUE)
    fake_github.pending_install = (INSTALLATION, ORG, ORG_ID, [REPO, OTHER_REPO])
    fake_github.setup_url = f"{server.url}/github/app/setup"
    yield Live(server.url, config)
    server.stop()


@dataclass(frozen=True)
class People:
    team: Team
    developer: User


def the_team(db: Session) -> People:
    team = make_team(db, slug=SLUG, name="Forms Team")
    owner = {team: ["owner"]}
    make_user(db, name="Olivia Owner", github_id=OWNER_GITHUB_ID, roles=owner, terms_version=TERMS)
    make_user(db, name="Abe Approver", roles={team: ["approver"]}, terms_version=TERMS)
    make_user(db, name="Eve Evaluator", roles={team: ["evaluator"]}, terms_version=TERMS)
    make_user(db, name="Fiona Finance", roles={team: ["finance"]}, terms_version=TERMS)
    developer = make_user(
        db, name="Dana Developer", login="dana-dev", github_id=AWARDEE_ID, terms_version=TERMS
    )
    db.commit()
    return People(team, developer)


def deliver(live: Live, event: str, body: bytes, delivery: str) -> None:
    """What GitHub does: a delivery signed with the app's webhook secret."""
    headers = delivery_headers(body, delivery, event, secret=APP_WEBHOOK_SECRET)
    response = httpx2.post(f"{live.url}/webhooks/github", content=body, headers=headers)
    assert response.status_code == 202, response.text


def wait_until(db: Session, done: Callable[[], bool], what: str) -> None:
    """The in-process jobs do it within a few of their runs; bounded, never a fixed sleep."""
    deadline = time.monotonic() + 30
    while True:
        db.expire_all()
        if done():
            return
        assert time.monotonic() < deadline, f"still waiting: {what}"
        time.sleep(0.2)


def secrets_of(live: Live) -> list[str]:
    """What the team must never be handed: the app's webhook secret and private key, and the
    per-repository webhook secret of the fallback."""
    key_lines = [
        line
        for line in live.settings.github_app_private_key.get_secret_value().splitlines()
        if line.strip() and not line.startswith("-----")
    ]
    return [
        live.settings.github_app_webhook_secret.get_secret_value(),
        live.settings.github_webhook_secret.get_secret_value(),
        *key_lines,
    ]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_new_team_installs_the_app_and_a_merge_is_paid_once(
    page: Page, live: Live, db: Session, fake_github: FakeGitHub, lang: str
) -> None:
    people = the_team(db)
    base = live.url
    seen: list[str] = []

    def look(name: str) -> None:
        check(page, f"{lang}-app-{name}")
        seen.append(page.content())

    # --- the owner installs the app on the organisation ---------------------------------
    sign_in_as(page, base, "Olivia Owner", lang)
    page.goto(f"{base}/teams/{SLUG}")
    page.locator(f'main a[href="/teams/{SLUG}/github"]').click()
    look("github-none")
    page.locator(f'main a[href="/teams/{SLUG}/github/install"]').click()
    page.locator("main form button[type=submit]").click()  # the fake GitHub's "Install"
    page.wait_for_url(f"{base}/teams/{SLUG}/github?notice=confirming")
    expect(page.get_by_role("status").first).to_be_visible()
    # Until GitHub says who installed it, the installation does not serve the team.
    installation_section = page.locator("main section")
    expect(installation_section.get_by_role("status")).to_be_visible()
    look("github-confirming")

    # GitHub's signed event names the installer: the installation then serves the team.
    event, body = installation_event(
        "created",
        INSTALLATION,
        sender_id=OWNER_GITHUB_ID,
        repositories={REPO_ID: REPO, OTHER_REPO_ID: OTHER_REPO},
    )
    deliver(live, event, body, "d-installation")

    def connected() -> bool:
        installation = db.get(GitHubInstallation, INSTALLATION)
        return installation is not None and installation.team_id == people.team.id

    wait_until(db, connected, "the installation connected to the team")
    page.goto(f"{base}/teams/{SLUG}/github")
    expect(installation_section.get_by_role("status")).to_have_count(0)
    expect(installation_section.locator("> p")).to_have_text(INSTALLATION_CONNECTED[lang])
    rows = installation_section.locator("table tbody tr")
    expect(rows).to_have_count(2)
    for name in (REPO, OTHER_REPO):
        row = rows.filter(has_text=name)
        expect(row.locator("td").nth(1)).to_have_text(CONNECTED[lang])
    look("github-connected")

    # --- a new opportunity on the issue, published -----------------------------------------
    page.goto(f"{base}/teams/{SLUG}")
    page.locator(f'main a[href="/teams/{SLUG}/opportunities/new"]').click()
    look("new-opportunity")
    page.locator("#field-title").fill("Announce validation errors")
    page.locator("#field-problem_statement").fill("Screen reader users miss **errors**.")
    page.locator("#field-acceptance_criteria").fill("- Errors are announced")
    page.locator("#field-amount").fill("4500")
    later = (utcnow() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#field-proposal_deadline").fill(later)
    page.locator("#field-github_issue_url").fill(f"https://github.com/{REPO}/issues/{ISSUE}")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("status").first).to_be_visible()
    expect(page.locator("main")).to_contain_text(LINKED[lang])
    look("draft")
    opportunity = db.scalars(select(Opportunity)).one()
    oid = opportunity.id
    assert (opportunity.github_repository_id, opportunity.github_issue_number) == (REPO_ID, ISSUE)

    # Olivia wrote it: the team's approver signs it off, which publishes it (issue 16).
    sign_in_as(page, base, "Abe Approver", lang)
    page.goto(f"{base}/opportunities/{oid}")
    page.locator('form[action$="/publish"] button').click()
    expect(page.get_by_role("status").first).to_be_visible()
    look("published")
    assert state_of(db, Opportunity, oid) == "published"

    # --- awarded (the proposal and the deadline set up; scoring and award in the pages) ---
    # Proposing and the deadline passing are other journeys'; here, Dana's proposal is in and
    # the deadline passed.
    published = db.get(Opportunity, oid)
    assert published is not None
    published.state = OpportunityState.EVALUATING
    published.proposal_deadline = utcnow() - timedelta(hours=2)
    make_proposal(db, published, people.developer, state="under_evaluation", price_cents=BID)
    db.commit()
    sign_in_as(page, base, "Eve Evaluator", lang)
    page.goto(f"{base}/opportunities/{oid}/evaluation")
    page.locator("#conflict-no").check()
    page.locator('form[action$="/declaration"] button').click()
    page.locator('main a[href$="/evaluation"]').first.click()
    for key in ("understanding", "approach", "experience"):
        page.locator(f"#field-score_{key}").fill("4")
    page.locator('button[value="submit"]').click()
    sign_in_as(page, base, "Olivia Owner", lang)
    page.goto(f"{base}/opportunities/{oid}/evaluation")
    page.locator('form[action$="/award"] button').click()
    expect(page.locator("#award-title")).to_be_visible()
    look("awarded")

    # --- funded: the developer accepts and sets up payouts, approver and finance fund -------
    sign_in_as(page, base, "Dana Developer", lang)
    page.goto(f"{base}/opportunities/{oid}/proposal")
    page.locator('form[action$="/award/accept"] button').click()
    page.locator('main a[href="/account/payouts"]').click()
    page.locator('form[action="/account/payouts/connect"] button').click()
    expect(page.locator(".badge.state-paid")).to_be_visible()
    sign_in_as(page, base, "Abe Approver", lang)
    page.goto(f"{base}/opportunities/{oid}/funding")
    page.locator(f'form[action="/opportunities/{oid}/funding/sign-off"] button').click()
    sign_in_as(page, base, "Fiona Finance", lang)
    page.goto(f"{base}/opportunities/{oid}/funding")
    page.locator(f'form[action="/opportunities/{oid}/funding"] button').click()
    page.locator("main form button").click()  # the simulated checkout
    look("funded")
    assert state_of(db, Opportunity, oid) == "in_progress"

    # --- the merge on GitHub: the API's pull request and the signed delivery ---------------
    fake_github.pulls[(REPO, PULL)] = api_pull(user={"id": AWARDEE_ID, "login": "dana-dev"})
    deliver(live, "pull_request", merged_payload(), "d-merge")
    wait_until(db, lambda: state_of(db, Opportunity, oid) == "paid", "the work paid")
    wait_until(
        db,
        lambda: all(c.posted_at for c in db.scalars(select(IssueComment))),
        "the narration posted",
    )
    sign_in_as(page, base, "Olivia Owner", lang)
    page.goto(f"{base}/opportunities/{oid}")
    expect(page.locator(".badge.state-paid")).to_be_visible()
    look("paid")
    page.goto(f"{base}/teams/{SLUG}/github")
    look("github-after")

    # --- paid once, told as the app, no secret shown ----------------------------------------
    payout = db.scalars(select(Payout).where(Payout.opportunity_id == oid)).one()
    transfers = db.scalars(select(PayoutTransfer).where(PayoutTransfer.payout_id == payout.id))
    assert [(t.user_id, t.amount_cents) for t in transfers] == [(people.developer.id, BID)]
    released = db.scalars(
        select(LedgerEntry).where(
            LedgerEntry.payout_id == payout.id,
            LedgerEntry.movement == "release",
            LedgerEntry.account == f"developer:{people.developer.id}",
        )
    ).all()
    assert [entry.amount_cents for entry in released] == [BID]
    # The award and the release are told on the issue, each once, by the app.
    assert [(repository, number) for repository, number, _body in fake_github.comments] == [
        (REPO, ISSUE),
        (REPO, ISSUE),
    ]
    assert set(fake_github.comment_authors.values()) == {f"{fake_github.app_slug}[bot]"}
    for secret in secrets_of(live):
        assert secret, "a secret the test should look for is empty"
        assert not [html for html in seen if secret in html], "a page showed a secret"
