"""Building blocks for pay-on-pull tests: awarded work, a signed merge delivery, the pull request
as the GitHub API reports it, and the steps that take the work to in progress."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.config import Settings
from app.github.client import GitHubClient
from app.models import Award, Opportunity, Payout, Team, User
from app.models.base import utcnow
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payments.gateway import gateway_for
from app.payonpull import service as payonpull
from app.payonpull import tasks as payonpull_tasks
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe

FIXTURES = Path(__file__).parent.parent / "fixtures" / "github"
GITHUB_SECRET = "webhook-test-secret"
REPO, REPO_ID, ISSUE, PULL = "gc-demo/forms", 424242, 12, 77
MERGE_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
AWARDEE_ID, MERGER_ID = 5001, 9009
BUDGET, BID = 250_000, 240_000


def sign(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _fixture(name: str) -> dict[str, Any]:
    """A real delivery (octokit's fixtures), moved to our repository."""
    payload: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    payload["repository"].update({"id": REPO_ID, "full_name": REPO})
    return payload


def merged_payload(**changes: Any) -> bytes:
    """A real 'pull_request closed' delivery, made to say it merged ours."""
    payload = _fixture("pull_request.closed")
    pull = payload["pull_request"]
    pull.update(
        {
            "merged": True,
            "number": PULL,
            "body": f"Fixes #{ISSUE}",
            "merged_by": {"id": MERGER_ID, "login": "maintainer"},
        }
    )
    pull["base"]["repo"].update({"id": REPO_ID, "full_name": REPO})
    pull.update(changes)
    return json.dumps(payload).encode()


def reopened_pull_payload(number: int = PULL) -> bytes:
    payload = _fixture("pull_request.reopened")
    payload["pull_request"]["number"] = number
    payload["pull_request"]["base"]["repo"].update({"id": REPO_ID, "full_name": REPO})
    return json.dumps(payload).encode()


def ping_payload() -> bytes:
    """What GitHub sends first when a repository's webhook is added."""
    return json.dumps(_fixture("ping")).encode()


def reopened_issue_payload(number: int = ISSUE) -> bytes:
    payload = _fixture("issues.reopened")
    payload["issue"]["number"] = number
    return json.dumps(payload).encode()


def delivery_headers(
    body: bytes, delivery: str = "d-1", event: str = "pull_request", secret: str = GITHUB_SECRET
) -> dict[str, str]:
    return {
        "x-github-delivery": delivery,
        "x-github-event": event,
        "x-hub-signature-256": sign(body, secret),
        "content-type": "application/json",
    }


def api_pull(**changes: Any) -> dict[str, Any]:
    """The pull request as the GitHub API answers about it (what verification believes)."""
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    pull: dict[str, Any] = {
        "number": PULL,
        "merged": True,
        "merged_at": now,
        "updated_at": now,
        "merge_commit_sha": MERGE_SHA,
        "body": f"Fixes #{ISSUE}",
        "user": {"id": AWARDEE_ID, "login": "awardee"},
        "merged_by": {"id": MERGER_ID, "login": "maintainer"},
        "base": {"ref": "main", "repo": {"id": REPO_ID, "full_name": REPO}},
    }
    pull.update(changes)
    return pull


@dataclass
class Work:
    opportunity_id: int
    team: Team
    owner: User
    finance: User
    developer: User
    # Signs off the awarded price before finance may fund it (issue 16, spending authority).
    approver: User


def awarded_work(
    db: Session,
    fake_github: FakeGitHub,
    *,
    accepted: bool = False,
    issue: int = ISSUE,
    budget: int = BUDGET,
    bid: int = BID,
    beside: Work | None = None,
) -> Work:
    """Awarded work on the repository's ``issue``; ``beside`` another work, it is the same
    team's, awarded to the same developer (two opportunities in one repository)."""
    if beside is None:
        team = make_team(db)
        owner = make_user(db, roles={team: ["owner"]})
        finance = make_user(db, roles={team: ["finance"]})
        approver = make_user(db, roles={team: ["approver"]})
        developer = make_user(db, github_id=AWARDEE_ID, login="awardee", email="dev@example.com")
    else:
        team, owner, finance, developer, approver = (
            beside.team,
            beside.owner,
            beside.finance,
            beside.developer,
            beside.approver,
        )
    opportunity = make_opportunity(
        db,
        team,
        state="awarded",
        amount_cents=budget,
        github_repository_id=REPO_ID,
        github_repository_full_name=REPO,
        github_issue_number=issue,
        github_default_branch="main",
    )
    # A bid below the budget: the contract (charge, transfer, ledger) is for the bid.
    proposal = make_proposal(db, opportunity, developer, state="awarded", price_cents=bid)
    db.add(
        Award(
            opportunity_id=opportunity.id,
            proposal_id=proposal.id,
            reason="top",
            accept_by=utcnow() + timedelta(days=5),
            accepted_at=utcnow() if accepted else None,
        )
    )
    db.commit()
    fake_github.add_repository(REPO, REPO_ID, default_branch="main")
    fake_github.add_issue(REPO, issue)
    return Work(opportunity.id, team, owner, finance, developer, approver)


def opportunity_of(db: Session, work: Work) -> Opportunity:
    db.expire_all()
    found = db.get(Opportunity, work.opportunity_id)
    assert found is not None
    return found


def payout_of(db: Session, work: Work) -> Payout:
    db.expire_all()
    found = payments_repository.payout_for(db, work.opportunity_id)
    assert found is not None
    return found


def connect_developer(
    db: Session, settings: Settings, fake_stripe: FakeStripe, work: Work
) -> dict[str, Any]:
    """The developer finishes Stripe onboarding; returns the account.updated event."""
    return connect_payouts(db, settings, fake_stripe, work.developer)


def connect_payouts(
    db: Session, settings: Settings, fake_stripe: FakeStripe, user: User
) -> dict[str, Any]:
    """Someone finishes Stripe onboarding; returns the account.updated event."""
    payments.connect_account(
        db, gateway_for(settings), user, return_url="http://x/r", refresh_url="http://x/f"
    )
    db.commit()
    account = payments_repository.account_of(db, user.id)
    assert account is not None
    return fake_stripe.enable_payouts(account.provider_account_id)


def add_co_authors(
    db: Session, settings: Settings, fake_stripe: FakeStripe, work: Work, shares: dict[int, str]
) -> list[User]:
    """Co-authors (GitHub id → share in percent) who can receive payouts, named by the
    awardee before the merge."""
    users = [make_user(db, github_id=github_id, login=f"co{github_id}") for github_id in shares]
    db.commit()
    for user in users:
        connect_payouts(db, settings, fake_stripe, user)
        account = payments_repository.account_of(db, user.id)
        assert account is not None
        payments.refresh_account(db, gateway_for(settings), account, follow=payonpull.follow_payout)
    lines = "\n".join(f"{github_id} {share}" for github_id, share in shares.items())
    payments.name_co_authors(db, opportunity_of(db, work), work.developer, lines)
    db.commit()
    return users


def fund_at_stripe(
    db: Session, settings: Settings, fake_stripe: FakeStripe, work: Work
) -> list[dict[str, Any]]:
    """The team's approver signs off the awarded price, then the finance person pays on
    Stripe's checkout; returns the events Stripe would send."""
    payments.sign_off_funding(db, opportunity_of(db, work), work.approver)
    db.commit()
    checkout = payments.start_funding(
        db, gateway_for(settings), opportunity_of(db, work), work.finance, settings
    )
    db.commit()
    return fake_stripe.complete_checkout(checkout.session_id)


def in_progress_work(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> tuple[Work, list[dict[str, Any]]]:
    """Awarded, accepted, payouts enabled and funded (learned from the gateway's answers, not
    from webhooks): in progress. Returns the Stripe events held back so far."""
    work = awarded_work(db, fake_github)
    events = start_work(db, settings, fake_stripe, work)
    assert opportunity_of(db, work).state == "in_progress"
    # The worker has asked GitHub about the new work once (nothing merged yet).
    with GitHubClient.from_settings(settings) as github:
        payonpull_tasks.check_started_work(db, github, settings)
    return work, events


def start_work(
    db: Session, settings: Settings, fake_stripe: FakeStripe, work: Work
) -> list[dict[str, Any]]:
    """The awardee sets up payouts and accepts, finance funds; returns Stripe's events."""
    events = [enable_payouts(db, settings, fake_stripe, work)]
    payonpull.accept_award(db, opportunity_of(db, work), work.developer)
    db.commit()
    events += fund_at_stripe(db, settings, fake_stripe, work)
    payments.confirm_funding(
        db, gateway_for(settings), opportunity_of(db, work), follow=payonpull.follow_payout
    )
    db.commit()
    return events


def enable_payouts(
    db: Session, settings: Settings, fake_stripe: FakeStripe, work: Work
) -> dict[str, Any]:
    """The developer finishes Stripe onboarding and comes back: payouts enabled, learned from
    the gateway's answer; returns the account.updated event, not delivered."""
    event = connect_developer(db, settings, fake_stripe, work)
    account = payments_repository.account_of(db, work.developer.id)
    assert account is not None
    payments.refresh_account(db, gateway_for(settings), account, follow=payonpull.follow_payout)
    return event


def waiting_for_the_money(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> Work:
    """Awarded, accepted, the developer's payouts enabled, saved: only the funding is missing."""
    work = awarded_work(db, fake_github, accepted=True)
    enable_payouts(db, settings, fake_stripe, work)
    db.commit()
    return work


def run_jobs(session_factory: sessionmaker[Session], settings: Settings, times: int = 1) -> None:
    for _ in range(times):
        jobs.run_periodic_jobs_once(session_factory, settings)


def ledger_balance(db: Session, work: Work) -> int:
    return payments_repository.ledger_balance(db, payout_of(db, work).id)
