"""Cross-domain flows, each in one place. Today: a merged pull request for awarded work.

Pay-on-pull rule 2: never trust the payload. The pull request and the repository are fetched
again from the GitHub API, and every check below must hold; anything else puts the
opportunity on hold with a reason for an administrator, and never pays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.github.client import GitHubClient, GitHubError
from app.github.webhooks import closed_issues, merged_pull_request
from app.models import Award, Opportunity, OpportunityState, Proposal, User, WebhookDelivery
from app.models.base import utcnow
from app.opportunities import service as opportunities


@dataclass(frozen=True)
class Verdict:
    relevant: bool  # does this pull request concern the opportunity at all?
    problems: list[str]
    evidence: dict[str, Any]


def awardee_github_id(session: Session, opportunity: Opportunity) -> int | None:
    row = session.execute(
        select(User.github_id)
        .join(Proposal, Proposal.author_user_id == User.id)
        .join(Award, Award.proposal_id == Proposal.id)
        .where(Award.opportunity_id == opportunity.id)
    ).first()
    return int(row[0]) if row else None


def verify_merge(
    github: GitHubClient, opportunity: Opportunity, awardee_id: int | None, number: int
) -> Verdict:
    """Checks one pull request of the opportunity's repository, as the API reports it."""
    full_name = opportunity.github_repository_full_name
    pull = github.get_pull_request(full_name, number)
    repository = github.get_repository(full_name)
    author_id = (pull.get("user") or {}).get("id")
    merger_id = (pull.get("merged_by") or {}).get("id")
    base = pull.get("base") or {}
    links_issue = (full_name.lower(), opportunity.github_issue_number) in closed_issues(
        pull.get("body"), full_name
    )
    evidence = {
        "pull_request": number,
        "author_id": author_id,
        "merged_by_id": merger_id,
        "base_repository_id": (base.get("repo") or {}).get("id"),
        "base_ref": base.get("ref"),
        "merged": pull.get("merged"),
    }
    relevant = links_issue or (awardee_id is not None and author_id == awardee_id)
    problems = []
    if pull.get("merged") is not True:
        problems.append("the pull request is not merged")
    if evidence["base_repository_id"] != opportunity.github_repository_id:
        problems.append("the pull request is not in the opportunity's repository")
    if base.get("ref") != repository.get("default_branch"):
        problems.append("the pull request was not merged into the default branch")
    if awardee_id is None or author_id != awardee_id:
        problems.append("the pull request's author is not the awardee")
    if not links_issue:
        problems.append("the pull request does not close the opportunity's issue")
    if merger_id is None or merger_id == awardee_id:
        problems.append("the pull request was merged by its author, the awardee")
    return Verdict(relevant, problems, evidence)


def process_delivery(session: Session, github: GitHubClient, delivery: WebhookDelivery) -> str:
    """What one inbox delivery means for the opportunities it may concern; returns the outcome."""
    if delivery.event != "pull_request":
        return "ignored: not a pull request event"
    payload = json.loads(delivery.body)
    pull = merged_pull_request(payload)
    if pull is None:
        return "ignored: not a merge"
    repository_id = ((pull.get("base") or {}).get("repo") or {}).get("id")
    candidates = session.scalars(
        select(Opportunity).where(
            Opportunity.state == OpportunityState.IN_PROGRESS.value,
            Opportunity.github_repository_id == repository_id,
        )
    ).all()
    outcomes = []
    for opportunity in candidates:
        outcomes.append(settle_merge(session, github, opportunity, int(pull["number"])))
    return "; ".join(outcomes) or "ignored: no opportunity in progress in this repository"


def settle_merge(
    session: Session, github: GitHubClient, opportunity: Opportunity, number: int
) -> str:
    verdict = verify_merge(github, opportunity, awardee_github_id(session, opportunity), number)
    if not verdict.relevant:
        return f"opportunity {opportunity.id}: unrelated pull request"
    if verdict.problems:
        opportunities.transition(
            session,
            opportunity,
            OpportunityState.ON_HOLD,
            actor=None,
            details={"reasons": verdict.problems, **verdict.evidence},
        )
        return f"opportunity {opportunity.id}: on hold ({'; '.join(verdict.problems)})"
    opportunities.transition(
        session, opportunity, OpportunityState.MERGED, actor=None, details=verdict.evidence
    )
    return f"opportunity {opportunity.id}: verified merge"


def reconcile(session: Session, github: GitHubClient) -> int:
    """Pay-on-pull rule 5: ask GitHub about every opportunity in progress, so that a merge whose
    webhook never arrived is still found (and verified exactly as a webhook's would be)."""
    settled = 0
    in_progress = session.scalars(
        select(Opportunity).where(
            Opportunity.state == OpportunityState.IN_PROGRESS.value,
            Opportunity.github_repository_id.is_not(None),
        )
    ).all()
    for opportunity in in_progress:
        try:
            settled += _reconcile_one(session, github, opportunity)
        except GitHubError:
            session.rollback()  # GitHub is unwell: the next run asks again
    return settled


def _reconcile_one(session: Session, github: GitHubClient, opportunity: Opportunity) -> int:
    awardee = awardee_github_id(session, opportunity)
    issue = (opportunity.github_repository_full_name.lower(), opportunity.github_issue_number)
    for pull in github.recently_closed_pull_requests(opportunity.github_repository_full_name):
        author = (pull.get("user") or {}).get("id")
        closes = issue in closed_issues(pull.get("body"), opportunity.github_repository_full_name)
        if pull.get("merged_at") and (closes or author == awardee):
            settle_merge(session, github, opportunity, int(pull["number"]))
            session.commit()
            return 1
    return 0


def process_inbox(session: Session, github: GitHubClient, limit: int = 50) -> int:
    """Processes pending deliveries, each claimed with SKIP LOCKED so that concurrent workers
    never process one twice; a GitHub outage leaves it pending for the next run."""
    done = 0
    for _ in range(limit):
        delivery = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if delivery is None:
            break
        delivery.attempts += 1
        try:
            outcome = process_delivery(session, github, delivery)
        except GitHubError as exc:
            session.rollback()
            _record_failure(session, delivery.id, str(exc))
            break
        delivery.status = "ignored" if outcome.startswith("ignored") else "processed"
        delivery.outcome = outcome[:300]
        delivery.processed_at = utcnow()
        session.commit()
        done += 1
    return done


def _record_failure(session: Session, delivery_id: int, error: str) -> None:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is not None:
        delivery.attempts += 1
        delivery.outcome = f"retrying: {error}"[:300]
        session.commit()
