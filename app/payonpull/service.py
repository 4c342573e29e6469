"""Pay on pull, the story from a merged pull request to a released payment: a verified merge
pays (at once, or when the release delay has passed), anything suspicious holds the work for an
administrator, a sign that the work was undone before the money left holds it too; and the
work follows what happens to its money (``follow_payout``: funded work starts, a disputed
payment holds it, a confirmed transfer marks it paid). Accepting the award and cancelling
funded work cross the same line. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import queue
from app.audit import repository as audit_repository
from app.audit import service as audit
from app.config import Settings
from app.delivery import service as contracts
from app.errors import Conflict
from app.evaluations import service as evaluations
from app.github import installations, narration
from app.github.client import GitHubClient
from app.github.webhooks import merged_pull_request, read_payload, repository_id, reverted_pulls
from app.i18n import N_
from app.i18n import gettext as _
from app.models import (
    Award,
    Opportunity,
    OpportunityState,
    Outcome,
    Payout,
    PayoutState,
    User,
    WebhookDelivery,
)
from app.models.base import utcnow
from app.opportunities import service as opportunities
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payonpull.verification import closes_issue_of, verify_merge

P = PayoutState


def awardee_github_id(session: Session, opportunity: Opportunity) -> int | None:
    found = payments_repository.awardee_of(session, opportunity.id)
    return found[1].github_id if found else None


def process_delivery(
    session: Session, github: GitHubClient, settings: Settings, delivery: WebhookDelivery
) -> Outcome:
    """What one inbox delivery means for the opportunities it may concern."""
    payload = read_payload(delivery.body)
    if payload is None:
        return Outcome.ignored("the body is not a JSON object")
    delivery.repository_id = repository_id(payload)
    if delivery.event in INSTALLATION_EVENTS:
        return installation_changed(session, settings, delivery.event, payload)
    if delivery.event == "issues" and payload.get("action") == "reopened":
        return _issue_reopened(session, payload)
    if delivery.event != "pull_request":
        return Outcome.ignored(f"{delivery.event or 'an'} event")
    if payload.get("action") == "reopened":
        return _pull_reopened(session, payload)
    if payload.get("action") in contracts.PULL_ACTIVITY:
        outcomes = contracts.record_pull_request(session, payload)
        return _said(outcomes, "no contract references this pull request")
    pull = merged_pull_request(payload)
    if pull is None:
        return Outcome.ignored("not a merge")
    base_repository_id = ((pull.get("base") or {}).get("repo") or {}).get("id")
    outcomes = _hold_undone(
        session,
        _merged_work(session, base_repository_id, *_reverted_by(pull)),
        N_("the verified pull request was reverted") + f": #{pull.get('number')}",
        {"reverted_by": pull.get("number")},
    )
    candidates = session.scalars(
        select(Opportunity).where(
            Opportunity.state == OpportunityState.IN_PROGRESS,
            Opportunity.github_repository_id == base_repository_id,
        )
    ).all()
    for opportunity in candidates:
        claims = closes_issue_of(pull.get("body"), opportunity)
        outcome = settle_merge(session, github, settings, opportunity, int(pull["number"]), claims)
        outcomes.append(outcome or f"opportunity {opportunity.id}: unrelated pull request")
    return _said(outcomes, "no opportunity in progress in this repository")


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
    co_authors = frozenset(u.github_id for u, _share in payments.co_authors(session, opportunity))
    verdict = verify_merge(
        github, opportunity, awardee, number, claims_issue=claims_issue, co_author_ids=co_authors
    )
    if not verdict.relevant:
        return None
    if verdict.problems:
        hold_work(session, opportunity, verdict.problems, verdict.evidence)
        return f"opportunity {opportunity.id}: on hold ({'; '.join(verdict.problems)})"
    return merged(
        session,
        opportunity,
        verdict.evidence,
        actor=None,
        release_delay=settings.release_delay,
    )


# --- the GitHub App: work in a repository the app can no longer reach waits ---------------

INSTALLATION_EVENTS = frozenset({"installation", "installation_repositories"})


def installation_changed(
    session: Session, settings: Settings, event: str, payload: dict[str, Any]
) -> Outcome:
    """An installation event: who installed it (only the signed event says), then the
    installation as GitHub now has it, whatever the event said; unpaid work in what the app
    can no longer reach is held."""
    api = installations.app_api(settings)
    installation_id = (payload.get("installation") or {}).get("id")
    if api is None or not isinstance(installation_id, int):
        return Outcome.ignored("no GitHub App installation to read")
    sender = (payload.get("sender") or {}).get("id")
    if event == "installation" and payload.get("action") == "created" and isinstance(sender, int):
        installations.record_installer(session, installation_id, sender)
    lost = installations.sync(session, api, installation_id)
    held = hold_unreachable_work(session, lost) if lost else []
    return Outcome.processed("; ".join([f"installation {installation_id} read", *held]))


def hold_unreachable_work(session: Session, lost: installations.Lost) -> list[str]:
    """Unpaid work in repositories the app cannot reach any more waits, with the reason, for
    the team to reconnect the repository and an administrator to release it, instead of
    failing at GitHub: work in progress, and verified merges whose payment has not left."""
    outcomes = []
    for opportunity in opportunities_in(session, lost.repository_ids):
        payout = payments_repository.locked_payout_for(session, opportunity.id)
        unreleased = payout is not None and payout.state is PayoutState.FUNDED
        if opportunity.state == OpportunityState.IN_PROGRESS or unreleased:
            if payout is not None:
                payout.release_due_at = None
            evidence = {"repository": opportunity.github_repository_full_name}
            hold_work(session, opportunity, [lost.reason], evidence)
            outcomes.append(f"opportunity {opportunity.id}: on hold ({lost.reason})")
    return outcomes


def opportunities_in(session: Session, repository_ids: frozenset[int]) -> Sequence[Opportunity]:
    return session.scalars(
        select(Opportunity)
        .where(
            Opportunity.github_repository_id.in_(repository_ids),
            Opportunity.state.in_([OpportunityState.IN_PROGRESS, OpportunityState.MERGED]),
        )
        .order_by(Opportunity.id)
    ).all()


# --- after a verified merge: signs that the work was undone before the money left ---------


def _merged_work(session: Session, repository: Any, *conditions: Any) -> Sequence[Opportunity]:
    """Opportunities of the repository whose merge was verified (paid or not yet), among those
    the conditions pick; none is looked for without a condition."""
    if not conditions:
        return []
    return session.scalars(
        select(Opportunity).where(
            Opportunity.state.in_([OpportunityState.MERGED, OpportunityState.PAID]),
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


def _said(outcomes: list[str], otherwise: str) -> Outcome:
    """What was done to the opportunities concerned, or why nothing was."""
    return Outcome.processed("; ".join(outcomes)) if outcomes else Outcome.ignored(otherwise)


def _pull_reopened(session: Session, payload: dict[str, Any]) -> Outcome:
    pull = payload.get("pull_request") or {}
    repository = ((pull.get("base") or {}).get("repo") or {}).get("id")
    number = pull.get("number")
    found = _merged_work(session, repository, Opportunity.github_pull_request_number == number)
    reason = N_("the verified pull request was reopened")
    outcomes = _hold_undone(session, found, reason, {"reopened": number})
    return _said(outcomes, "no verified pull request was reopened")


def _issue_reopened(session: Session, payload: dict[str, Any]) -> Outcome:
    number = (payload.get("issue") or {}).get("number")
    found = _merged_work(session, repository_id(payload), Opportunity.github_issue_number == number)
    reason = N_("the issue was reopened after the merge")
    outcomes = _hold_undone(session, found, reason, {"issue": number})
    return _said(outcomes, "no merged opportunity's issue was reopened")


def _hold_undone(
    session: Session, found: Sequence[Opportunity], reason: str, evidence: dict[str, Any]
) -> list[str]:
    return [hold_unreleased(session, opportunity, reason, evidence) for opportunity in found]


# Paid work undone after the money left: recorded for the needs-attention queue.
UNDONE_AFTER_RELEASE = "opportunity.undone_after_release"


def hold_unreleased(
    session: Session, opportunity: Opportunity, reason: str, evidence: dict[str, Any]
) -> str:
    """Holds the payment if it has not left yet (the release waits for its due time); after
    the release, the sign is recorded for the administrators and the payment stands."""
    payout = payments_repository.locked_payout_for(session, opportunity.id)
    session.refresh(opportunity)
    evidence = {"pull_request": opportunity.github_pull_request_number, **evidence}
    merged_work = opportunity.state == OpportunityState.MERGED
    if merged_work and payout is not None and payout.state is PayoutState.FUNDED:
        payout.release_due_at = None
        hold_work(session, opportunity, [reason], evidence)
        return f"opportunity {opportunity.id}: on hold ({reason})"
    audit.record(
        session,
        actor_user_id=None,
        action=UNDONE_AFTER_RELEASE,
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
        hold_work(session, opportunity, [exc.detail], evidence)
        return f"opportunity {opportunity.id}: on hold ({exc.detail})"
    return f"opportunity {opportunity.id}: verified merge, payment releasing"


def release_due(session: Session, payout: Payout) -> None:
    """The release delay has passed with no sign the work was undone: the payment leaves."""
    opportunity = session.get(Opportunity, payout.opportunity_id)
    payout.release_due_at = None
    if opportunity is None or opportunity.state != OpportunityState.MERGED:
        return
    try:
        payments.request_release(session, opportunity, actor=None)
    except Conflict as exc:
        hold_work(
            session,
            opportunity,
            [exc.detail],
            {"pull_request": opportunity.github_pull_request_number},
        )


def hold_work(
    session: Session, opportunity: Opportunity, reasons: list[str], evidence: dict[str, Any]
) -> None:
    """On hold: anything suspicious on the money path waits for an administrator. Reasons are
    kept in English in the audit trail, each a marked message, optionally followed by ": " and
    data (check names, a pull request number); the needs-attention queue translates them."""
    opportunities.transition(
        session,
        opportunity,
        OpportunityState.ON_HOLD,
        actor=None,
        details={"reasons": reasons, **evidence},
    )
    narration.held(session, opportunity)


# The team's money is no longer simply held for the work: an administrator must look.
_MONEY_QUESTIONED = {
    P.DISPUTED: N_("the team's payment is disputed by the card holder"),
    P.REFUNDED: N_("the team's payment went back to the card holder"),
}
_WORK_WAITING_ON_MONEY = frozenset(
    {
        OpportunityState.AWARDED,
        OpportunityState.IN_PROGRESS,
        OpportunityState.MERGED,
        OpportunityState.MISSED_DELIVERY,
    }
)


def follow_payout(session: Session, payout: Payout) -> None:
    """The work follows what its payout's facts say (passed to the payment steps and jobs as
    their ``follow``): questioned money holds it, funded work starts when ready, the
    release is narrated and a confirmed transfer marks the work paid."""
    opportunity = session.get(Opportunity, payout.opportunity_id)
    assert opportunity is not None
    reason = _MONEY_QUESTIONED.get(payout.state)
    if reason and opportunity.state in _WORK_WAITING_ON_MONEY:
        hold_work(session, opportunity, [reason], {"payout_id": payout.id})
    if payout.state in (P.RELEASED, P.PAID):
        narration.released(session, opportunity, payout.released_cents)
    if payout.state is P.PAID and opportunity.state == OpportunityState.MERGED:
        opportunities.transition(
            session,
            opportunity,
            OpportunityState.PAID,
            actor=None,
            details={
                "transfer_ids": [
                    share.transfer_id
                    for share in payments_repository.transfers_of(session, payout.id)
                ]
            },
        )
    elif payout.state is P.FUNDED:
        start_work_when_ready(session, opportunity)


def start_work_when_ready(session: Session, opportunity: Opportunity) -> bool:
    """Awarded → in progress once the work is funded, the developer accepted the contract and
    can receive payouts; whichever of the three happens last calls this."""
    if opportunity.state != OpportunityState.AWARDED:
        return False
    payout = payments_repository.payout_for(session, opportunity.id)
    found = payments_repository.awardee_of(session, opportunity.id)
    if payout is None or payout.state is not P.FUNDED or found is None:
        return False
    award, developer = found
    account = payments_repository.account_of(session, developer.id)
    if award.accepted_at is None or account is None or not account.payouts_enabled:
        return False
    opportunities.transition(
        session,
        opportunity,
        OpportunityState.IN_PROGRESS,
        actor=None,
        details={"payout_id": payout.id},
    )
    # The awardee may have been merged already (before the funding): GitHub is asked at once.
    opportunity.merge_check_due_at = utcnow()
    queue.wake_after_commit(session, queue.MERGES_DRAIN)
    return True


# An administrator judged the held merge not to be the work (attention.service.dismiss_hold).
DISMISSED = "opportunity.hold_dismissed"


def dismissed_pulls(session: Session, opportunity_id: int) -> set[int]:
    """Pull requests an administrator judged not to be the work: not judged again."""
    return {
        int(number)
        for details in audit_repository.details_of(
            session, "opportunity", opportunity_id, DISMISSED
        )
        if isinstance(number := details.get("pull_request"), int)
    }


def accept_award(session: Session, opportunity: Opportunity, user: User) -> Award:
    record = evaluations.accept_award(session, opportunity, user)
    start_work_when_ready(session, opportunity)
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
    if opportunity.state != OpportunityState.IN_PROGRESS:
        raise Conflict(_("Only work in progress can be merged."))
    return merged(
        session,
        opportunity,
        {"simulated": True},
        actor=actor,
        release_delay=settings.release_delay,
    )
