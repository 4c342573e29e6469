"""Cross-domain flows, each in one place: a merged pull request for awarded work, the steps
between award and work (accepting, funding), cancelling funded work, and what administrators
do with held payments.

Pay-on-pull rule 2: never trust the payload. The pull request and the repository are fetched
again from the GitHub API, and every check below must hold; anything else puts the
opportunity on hold with a reason for an administrator, and never pays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import repository as audit_repository
from app.audit import service as audit
from app.config import Settings
from app.errors import Conflict, InvalidTransition
from app.evaluations import service as evaluations
from app.github import repository as github_repository
from app.github.client import GitHubClient, GitHubError, GitHubNotFound
from app.github.webhooks import (
    closed_issues,
    merged_pull_request,
    read_payload,
    repository_id,
    reverted_pulls,
)
from app.i18n import N_
from app.i18n import gettext as _
from app.models import (
    Award,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutState,
    User,
    WebhookDelivery,
)
from app.models.base import utcnow
from app.opportunities import repository as opportunities_repository
from app.opportunities import service as opportunities
from app.payments import repository as payments_repository
from app.payments import service as payments


@dataclass(frozen=True)
class Verdict:
    relevant: bool  # does this pull request (say it does) close the opportunity's issue?
    problems: list[str]
    evidence: dict[str, Any]


def awardee_github_id(session: Session, opportunity: Opportunity) -> int | None:
    found = payments_repository.awardee_of(session, opportunity.id)
    return found[1].github_id if found else None


def verify_merge(
    github: GitHubClient,
    opportunity: Opportunity,
    awardee_id: int | None,
    number: int,
    *,
    claims_issue: bool = False,
) -> Verdict:
    """Checks one pull request of the opportunity's repository, as the API reports it, and,
    when the opportunity asks for it, the merged commit's checks (the quality gate).
    ``claims_issue``: what GitHub sent us (a delivery, a listing) said it closes the issue."""
    full_name = opportunity.github_repository_full_name
    pull = github.get_pull_request(full_name, number)
    repository = github.get_repository(full_name)
    author_id = (pull.get("user") or {}).get("id")
    merger_id = (pull.get("merged_by") or {}).get("id")
    base = pull.get("base") or {}
    issue = (full_name.lower(), opportunity.github_issue_number)
    links_issue = _closes_issue_of(pull.get("body"), opportunity) or issue in (
        github.closing_issues(full_name, number)
    )
    evidence = {
        "pull_request": number,
        "author_id": author_id,
        "merged_by_id": merger_id,
        "base_repository_id": (base.get("repo") or {}).get("id"),
        "base_ref": base.get("ref"),
        "default_branch": repository.get("default_branch"),
        "merged": pull.get("merged"),
    }
    # A pull request concerns the opportunity when it closes its issue, or when it is the
    # awardee's and GitHub's delivery said it closed it (an answer that now disagrees is a
    # reason to look); the awardee's work for another issue of the same repository is none
    # of this opportunity's business, and a delivery alone (forged?) moves nothing.
    relevant = links_issue or (claims_issue and author_id is not None and author_id == awardee_id)
    problems = []
    if pull.get("merged") is not True:
        problems.append(N_("the pull request is not merged"))
    if evidence["base_repository_id"] != opportunity.github_repository_id:
        problems.append(N_("the pull request is not in the opportunity's repository"))
    if base.get("ref") != repository.get("default_branch"):
        problems.append(N_("the pull request was not merged into the default branch"))
    if awardee_id is None or author_id != awardee_id:
        problems.append(N_("the pull request's author is not the awardee"))
    if not links_issue:
        problems.append(N_("the pull request does not close the opportunity's issue"))
    if merger_id is None or merger_id == awardee_id:
        problems.append(N_("the pull request was merged by its author, the awardee"))
    if opportunity.require_passing_checks and relevant:
        checks, problem = _quality_gate(github, full_name, str(pull.get("merge_commit_sha") or ""))
        evidence["checks"] = checks
        problems += [problem] if problem else []
    return Verdict(relevant, problems, evidence)


PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


def _quality_gate(github: GitHubClient, full_name: str, sha: str) -> tuple[dict[str, str], str]:
    """The merged commit's check runs and commit statuses, each name with its result, and what
    stops the payment, if anything: a check that did not pass, or one still running."""
    if not sha:
        return {}, N_("the merged commit is unknown, so its checks cannot be read")
    results = {
        str(run.get("name")): str(run.get("conclusion") or run.get("status"))
        for run in github.check_runs(full_name, sha)
    }
    combined = github.combined_status(full_name, sha)
    statuses = [s for s in combined.get("statuses") or [] if isinstance(s, dict)]
    results |= {str(status.get("context")): str(status.get("state")) for status in statuses}
    failed = sorted(name for name, result in results.items() if result not in PASSING_CONCLUSIONS)
    if not results:
        return results, N_("no check ran on the merged commit")
    if failed:
        return results, N_("a required check did not pass") + ": " + ", ".join(failed)
    return results, ""


def process_delivery(
    session: Session, github: GitHubClient, settings: Settings, delivery: WebhookDelivery
) -> str:
    """What one inbox delivery means for the opportunities it may concern; returns the outcome."""
    payload = read_payload(delivery.body)
    if payload is None:
        return "ignored: the body is not a JSON object"
    delivery.repository_id = repository_id(payload)
    if delivery.event == "issues" and payload.get("action") == "reopened":
        return _issue_reopened(session, payload)
    if delivery.event != "pull_request":
        return f"ignored: {delivery.event or 'an'} event"
    if payload.get("action") == "reopened":
        return _pull_reopened(session, payload)
    pull = merged_pull_request(payload)
    if pull is None:
        return "ignored: not a merge"
    base_repository_id = ((pull.get("base") or {}).get("repo") or {}).get("id")
    outcomes = _hold_undone(
        session,
        _merged_work(session, base_repository_id, *_reverted_by(pull)),
        N_("the verified pull request was reverted") + f": #{pull.get('number')}",
        {"reverted_by": pull.get("number")},
    )
    candidates = session.scalars(
        select(Opportunity).where(
            Opportunity.state == OpportunityState.IN_PROGRESS.value,
            Opportunity.github_repository_id == base_repository_id,
        )
    ).all()
    for opportunity in candidates:
        claims = _closes_issue_of(pull.get("body"), opportunity)
        outcome = settle_merge(session, github, settings, opportunity, int(pull["number"]), claims)
        outcomes.append(outcome or f"opportunity {opportunity.id}: unrelated pull request")
    return "; ".join(outcomes) or "ignored: no opportunity in progress in this repository"


def _closes_issue_of(body: Any, opportunity: Opportunity) -> bool:
    """Does this pull request text close the opportunity's issue (a closing keyword)?"""
    full_name = opportunity.github_repository_full_name
    issue = (full_name.lower(), opportunity.github_issue_number)
    return issue in closed_issues(body, full_name)


def settle_merge(
    session: Session,
    github: GitHubClient,
    settings: Settings,
    opportunity: Opportunity,
    number: int,
    claims_issue: bool = False,
) -> str | None:
    """Verifies one merged pull request for the opportunity and pays or holds; None when the
    pull request does not concern it (it closes another issue)."""
    awardee = awardee_github_id(session, opportunity)
    verdict = verify_merge(github, opportunity, awardee, number, claims_issue=claims_issue)
    if not verdict.relevant:
        return None
    if verdict.problems:
        payments.hold_work(session, opportunity, verdict.problems, verdict.evidence)
        return f"opportunity {opportunity.id}: on hold ({'; '.join(verdict.problems)})"
    return merged(
        session,
        opportunity,
        verdict.evidence,
        actor=None,
        release_delay=settings.release_delay,
    )


# --- after a verified merge: signs that the work was undone before the money left ---------


def _merged_work(session: Session, repository: Any, *conditions: Any) -> Sequence[Opportunity]:
    """Opportunities of the repository whose merge was verified (paid or not yet), among those
    the conditions pick; none is looked for without a condition."""
    if not conditions:
        return []
    return session.scalars(
        select(Opportunity).where(
            Opportunity.state.in_([OpportunityState.MERGED.value, OpportunityState.PAID.value]),
            Opportunity.github_repository_id == repository,
            *conditions,
        )
    ).all()


def _reverted_by(pull: dict[str, Any]) -> list[Any]:
    """The condition that picks the verified merges this pull request says it reverts (GitHub's
    revert button writes "Reverts owner/repo#12"); none when it reverts nothing. The payload is
    enough here: it only ever stops money, and it is signed by GitHub."""
    full_name = str(((pull.get("base") or {}).get("repo") or {}).get("full_name") or "").lower()
    numbers = [n for repo, n in reverted_pulls(pull.get("body"), full_name) if repo == full_name]
    return [Opportunity.github_pull_request_number.in_(numbers)] if numbers else []


def _pull_reopened(session: Session, payload: dict[str, Any]) -> str:
    pull = payload.get("pull_request") or {}
    repository = ((pull.get("base") or {}).get("repo") or {}).get("id")
    number = pull.get("number")
    found = _merged_work(session, repository, Opportunity.github_pull_request_number == number)
    reason = N_("the verified pull request was reopened")
    outcomes = _hold_undone(session, found, reason, {"reopened": number})
    return "; ".join(outcomes) or "ignored: no verified pull request was reopened"


def _issue_reopened(session: Session, payload: dict[str, Any]) -> str:
    number = (payload.get("issue") or {}).get("number")
    found = _merged_work(session, repository_id(payload), Opportunity.github_issue_number == number)
    reason = N_("the issue was reopened after the merge")
    outcomes = _hold_undone(session, found, reason, {"issue": number})
    return "; ".join(outcomes) or "ignored: no merged opportunity's issue was reopened"


def _hold_undone(
    session: Session, found: Sequence[Opportunity], reason: str, evidence: dict[str, Any]
) -> list[str]:
    return [hold_unreleased(session, opportunity, reason, evidence) for opportunity in found]


def translated_reason(reason: str) -> str:
    message, separator, data = reason.partition(": ")
    return _(message) + separator + data


def hold_unreleased(
    session: Session, opportunity: Opportunity, reason: str, evidence: dict[str, Any]
) -> str:
    """Holds the payment if it has not left yet (the release waits for its due time); after
    the release, the sign is recorded for the administrators and the payment stands."""
    payout = payments_repository.locked_payout_for(session, opportunity.id)
    session.refresh(opportunity)
    evidence = {"pull_request": opportunity.github_pull_request_number, **evidence}
    merged_work = opportunity.state == OpportunityState.MERGED.value
    if merged_work and payout is not None and PayoutState(payout.state) is PayoutState.FUNDED:
        payout.release_due_at = None
        payments.hold_work(session, opportunity, [reason], evidence)
        return f"opportunity {opportunity.id}: on hold ({reason})"
    audit.record(
        session,
        actor_user_id=None,
        action=payments_repository.UNDONE_AFTER_RELEASE,
        subject_type="opportunity",
        subject_id=opportunity.id,
        details={"reason": reason, **evidence},
    )
    return f"opportunity {opportunity.id}: {reason}, after the payment was released"


def merged(
    session: Session,
    opportunity: Opportunity,
    evidence: dict[str, Any],
    *,
    actor: User | None,
    release_delay: timedelta,
) -> str:
    """A verified merge: the work is done, and the payment starts on its way, at once or when
    the release delay has passed."""
    opportunities.transition(
        session, opportunity, OpportunityState.MERGED, actor=actor, details=evidence
    )
    number = evidence.get("pull_request")
    opportunity.github_pull_request_number = number if isinstance(number, int) else None
    try:
        if release_delay:
            payments.schedule_release(session, opportunity, utcnow() + release_delay)
            return f"opportunity {opportunity.id}: verified merge, payment due later"
        payments.request_release(session, opportunity, actor=actor)
    except Conflict as exc:
        payments.hold_work(session, opportunity, [exc.detail], evidence)
        return f"opportunity {opportunity.id}: on hold ({exc.detail})"
    return f"opportunity {opportunity.id}: verified merge, payment releasing"


def release_due(session: Session, payout: Payout) -> None:
    """The release delay has passed with no sign the work was undone: the payment leaves."""
    opportunity = session.get(Opportunity, payout.opportunity_id)
    payout.release_due_at = None
    if opportunity is None or opportunity.state != OpportunityState.MERGED.value:
        return
    try:
        payments.request_release(session, opportunity, actor=None)
    except Conflict as exc:
        payments.hold_work(
            session,
            opportunity,
            [exc.detail],
            {"pull_request": opportunity.github_pull_request_number},
        )


def reconcile(session: Session, github: GitHubClient, settings: Settings) -> int:
    """Pay-on-pull rule 5: ask GitHub about every opportunity in progress, so that a merge whose
    webhook never arrived is still found (and verified exactly as a webhook's would be)."""
    in_progress = session.scalars(
        select(Opportunity).where(
            Opportunity.state == OpportunityState.IN_PROGRESS.value,
            Opportunity.github_repository_id.is_not(None),
        )
    ).all()
    return _ask_github_about(session, github, settings, in_progress)


def check_started_work(session: Session, github: GitHubClient, settings: Settings) -> int:
    """Work that has just started (funded, accepted, payouts enabled) may have been merged
    before it started: its delivery then found nothing to pay. Asked at once, not at the
    next reconcile, so such a merge is paid within seconds of the funding."""
    settled = 0
    for _attempt in range(MAX_CHECKS_PER_RUN):
        # One at a time, claimed: two workers never ask about the same work at once.
        claimed = session.scalars(
            select(Opportunity)
            .where(*opportunities_repository.merge_check_due(utcnow()))
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if claimed is None:
            break
        settled += _ask_github_about(session, github, settings, [claimed])
    return settled


MAX_CHECKS_PER_RUN = 50


# GitHub unwell: a started work's check waits this long before it is tried again.
MERGE_CHECK_RETRY = timedelta(minutes=1)


def _ask_github_about(
    session: Session, github: GitHubClient, settings: Settings, found: Sequence[Opportunity]
) -> int:
    settled = 0
    for opportunity in found:
        opportunity_id = opportunity.id
        try:
            settled += _settle_closing_merge(session, github, settings, opportunity)
            opportunity.merge_check_due_at = None
        except (GitHubError, InvalidTransition) as exc:
            session.rollback()
            asked = session.get(Opportunity, opportunity_id)
            if asked is not None and asked.merge_check_due_at is not None:
                # Settled by another worker meanwhile, or a repository GitHub cannot show (an
                # answer: the reconcile job keeps asking): done. Anything else means GitHub is
                # unwell: ask again a little later.
                done = isinstance(exc, GitHubNotFound | InvalidTransition)
                asked.merge_check_due_at = None if done else utcnow() + MERGE_CHECK_RETRY
        session.commit()
    return settled


def _settle_closing_merge(
    session: Session, github: GitHubClient, settings: Settings, opportunity: Opportunity
) -> int:
    """Settles the most recent merged pull request that closes the opportunity's issue, among
    those closed since the award (every page of them). Pull requests of the awardee are
    verified too, since an issue linked in the sidebar only shows in the API's answer; one an
    administrator dismissed for this work is not judged again."""
    found = payments_repository.awardee_of(session, opportunity.id)
    if found is None:
        return 0
    award, awardee = found
    full_name = opportunity.github_repository_full_name
    dismissed = dismissed_pulls(session, opportunity.id)
    for pull in github.closed_pull_requests_since(full_name, award.awarded_at - CLOCK_MARGIN):
        closes = _closes_issue_of(pull.get("body"), opportunity)
        by_awardee = (pull.get("user") or {}).get("id") == awardee.github_id
        number = int(pull["number"])
        if not pull.get("merged_at") or not (closes or by_awardee) or number in dismissed:
            continue
        if settle_merge(session, github, settings, opportunity, number, closes) is not None:
            return 1
    return 0


# GitHub's clock and ours may disagree a little: look a bit before the award.
CLOCK_MARGIN = timedelta(minutes=10)


def dismissed_pulls(session: Session, opportunity_id: int) -> set[int]:
    """Pull requests an administrator judged not to be the work (see dismiss_hold)."""
    return {
        int(number)
        for details in audit_repository.details_of(
            session, "opportunity", opportunity_id, DISMISSED
        )
        if isinstance(number := details.get("pull_request"), int)
    }


def process_inbox(
    session: Session, github: GitHubClient, settings: Settings, limit: int = 50
) -> int:
    """Processes pending deliveries, each claimed with SKIP LOCKED so that concurrent workers
    never process one twice; a GitHub outage leaves it pending for the next run. GitHub saying
    a pull request or repository does not exist (deleted, or made private) is an answer, not an
    outage: that delivery is set aside, so it cannot hold up the ones behind it; no payment
    follows from it, and the reconcile job keeps asking about the work in progress."""
    done = 0
    for _attempt in range(limit):
        delivery = github_repository.claim_pending_delivery(session)
        if delivery is None:
            break
        delivery_id = delivery.id
        try:
            _finish(delivery, process_delivery(session, github, settings, delivery))
        except GitHubError as exc:
            session.rollback()
            if not _record_failure(session, delivery_id, exc):
                break  # GitHub is unwell: the next run tries again
        session.commit()
        done += 1
    return done


def _finish(delivery: WebhookDelivery, outcome: str) -> None:
    delivery.attempts += 1
    delivery.status = "ignored" if outcome.startswith("ignored") else "processed"
    delivery.outcome = outcome[:300]
    delivery.processed_at = utcnow()


# A delivery GitHub keeps failing on is given up after this many runs (about an hour of
# regular runs), so it cannot hold up the inbox for ever; the reconcile job still asks GitHub
# about the work in progress, so a merge it carried is delayed, never lost.
MAX_DELIVERY_ATTEMPTS = 120


def _record_failure(session: Session, delivery_id: int, error: GitHubError) -> bool:
    """Records a failed attempt (after the rollback); True when the delivery is set aside, so
    the inbox goes on. GitHub saying a pull request does not exist is an answer, not an outage."""
    delivery = session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    if isinstance(error, GitHubNotFound):
        _finish(delivery, f"ignored: GitHub cannot show {error}")
        return True
    if delivery.attempts + 1 >= MAX_DELIVERY_ATTEMPTS:
        _finish(delivery, f"ignored: gave up after {delivery.attempts + 1} attempts: {error}")
    else:
        delivery.attempts += 1
        delivery.outcome = f"retrying: {error}"[:300]
    session.commit()
    return False


def accept_award(session: Session, opportunity: Opportunity, user: User) -> Award:
    record = evaluations.accept_award(session, opportunity, user)
    payments.start_work_when_ready(session, opportunity)
    return record


def cancel(session: Session, opportunity: Opportunity, *, actor: User, reason: str) -> None:
    """Cancelling funded work refunds the team in full; money already released cannot be."""
    opportunities.cancel(session, opportunity, actor=actor, reason=reason)
    payout = payments_repository.payout_for(session, opportunity.id)
    if payout is not None:
        payments.request_refund(session, payout, actor=actor, reason=reason)


def simulate_merge(
    session: Session, opportunity: Opportunity, actor: User, settings: Settings
) -> str:
    """Local mode only: plays a verified merge of the awardee's pull request, so that the whole
    pay-on-pull flow can be tried in a browser without GitHub."""
    if opportunity.state != OpportunityState.IN_PROGRESS.value:
        raise Conflict(_("Only work in progress can be merged."))
    return merged(
        session,
        opportunity,
        {"simulated": True},
        actor=actor,
        release_delay=settings.release_delay,
    )


# --- the needs-attention queue: every action is audited, releasing takes two admins ------


def release_held(session: Session, opportunity: Opportunity, admin: User) -> None:
    """The first administrator's call records their approval; a second one releases."""
    payout = _held_payout(session, opportunity)
    first = payout.release_approved_by_user_id
    if first is None:
        payout.release_approved_by_user_id = admin.id
        _audit(session, admin, payout, "payout.release_approved")
        return
    if first == admin.id:
        raise Conflict(_("A second administrator must confirm this release."))
    _audit(session, admin, payout, "payout.release_confirmed")
    payout.release_approved_by_user_id = None
    opportunities.transition(
        session,
        opportunity,
        OpportunityState.MERGED,
        actor=admin,
        details={"approved_by": [first, admin.id]},
    )
    payments.request_release(session, opportunity, actor=admin)


def refund_held(session: Session, opportunity: Opportunity, admin: User, reason: str) -> None:
    payout = _held_payout(session, opportunity)
    opportunities.transition(
        session, opportunity, OpportunityState.CANCELLED, actor=admin, details={"reason": reason}
    )
    payments.request_refund(session, payout, actor=admin, reason=reason)


DISMISSED = "opportunity.hold_dismissed"


def dismiss_hold(session: Session, opportunity: Opportunity, admin: User) -> None:
    """The merge that raised the hold was not the work (a sniped or unrelated pull request):
    the work goes back to in progress and waits for the awardee's own merge. That pull
    request is remembered, so the reconcile job does not hold the work for it again. Work
    that had not started (held before the developer accepted, or while the team's payment is
    disputed) cannot be sent to in progress this way."""
    found = payments_repository.awardee_of(session, opportunity.id)
    payout = payments_repository.payout_for(session, opportunity.id)
    funded = payout is not None and PayoutState(payout.state) is PayoutState.FUNDED
    if found is None or found[0].accepted_at is None or not funded:
        raise Conflict(
            _(
                "This work cannot go back to in progress: the developer has not accepted the "
                "contract, or the team's payment is not held for it. Refund it, or wait."
            )
        )
    opportunities.transition(
        session, opportunity, OpportunityState.IN_PROGRESS, actor=admin, details={"dismissed": True}
    )
    audit.record(
        session,
        actor_user_id=admin.id,
        action=DISMISSED,
        subject_type="opportunity",
        subject_id=opportunity.id,
        details={"pull_request": _held_for_pull(session, opportunity.id)},
    )
    assert payout is not None
    payout.release_approved_by_user_id = None


def _held_for_pull(session: Session, opportunity_id: int) -> int | None:
    """The pull request named by the latest hold's evidence, if it named one."""
    holds = audit_repository.details_of(
        session, "opportunity", opportunity_id, "opportunity.transition", to_state="on_hold"
    )
    number = holds[-1].get("pull_request") if holds else None
    return number if isinstance(number, int) else None


def _held_payout(session: Session, opportunity: Opportunity) -> Payout:
    payout = payments_repository.payout_for(session, opportunity.id)
    if opportunity.state != OpportunityState.ON_HOLD.value or payout is None:
        raise Conflict(_("This opportunity has no held payment."))
    if PayoutState(payout.state) is not PayoutState.FUNDED:
        raise Conflict(_("This payment is not held; see its money trail."))
    return payout


def _audit(session: Session, admin: User, payout: Payout, action: str) -> None:
    audit.record(
        session,
        actor_user_id=admin.id,
        action=action,
        subject_type="payout",
        subject_id=payout.id,
        details={"opportunity_id": payout.opportunity_id},
    )


def retry_transfer(session: Session, opportunity: Opportunity, admin: User) -> None:
    """A transfer that failed every attempt: one administrator sends it again, with the same
    idempotency key (so it can still never be made twice)."""
    payout = payments_repository.payout_for(session, opportunity.id)
    if payout is None or PayoutState(payout.state) is not PayoutState.TRANSFER_FAILED:
        raise Conflict(_("Only a failed transfer can be retried."))
    payments.transition(session, payout, PayoutState.RELEASING, actor=admin)
    payout.transfer_attempts = 0
