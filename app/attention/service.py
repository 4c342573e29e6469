"""The needs-attention queue: what administrators do with held work and payments. Every action
is audited; releasing held money takes two administrators."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit import repository as audit_repository
from app.audit import service as audit
from app.errors import Conflict
from app.i18n import gettext as _
from app.models import Opportunity, OpportunityState, Payout, PayoutState, User
from app.opportunities import service as opportunities
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payonpull.service import DISMISSED


def translated_reason(reason: str) -> str:
    """A hold's reason in the reader's language: a marked message, then any data as stored."""
    message, separator, data = reason.partition(": ")
    return _(message) + separator + data


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


def dismiss_hold(session: Session, opportunity: Opportunity, admin: User) -> None:
    """The merge that raised the hold was not the work (a sniped or unrelated pull request):
    the work goes back to in progress and waits for the awardee's own merge. That pull
    request is remembered, so the reconcile job does not hold the work for it again. Work
    that had not started (held before the developer accepted, or while the team's payment is
    disputed) cannot be sent to in progress this way."""
    _no_open_claim(session, opportunity)
    found = payments_repository.awardee_of(session, opportunity.id)
    payout = payments_repository.payout_for(session, opportunity.id)
    funded = payout is not None and payout.state is PayoutState.FUNDED
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
        session,
        "opportunity",
        opportunity_id,
        "opportunity.transition",
        to_state=OpportunityState.ON_HOLD,
    )
    number = holds[-1].get("pull_request") if holds else None
    return number if isinstance(number, int) else None


def _no_open_claim(session: Session, opportunity: Opportunity) -> None:
    """Work a claim holds is decided on the claim's page, by two administrators."""
    if payments_repository.has_open_claim(session, opportunity.id):
        raise Conflict(_("A claim holds this work: resolve the claim instead."))


def _held_payout(session: Session, opportunity: Opportunity) -> Payout:
    _no_open_claim(session, opportunity)
    payout = payments_repository.payout_for(session, opportunity.id)
    if opportunity.state != OpportunityState.ON_HOLD or payout is None:
        raise Conflict(_("This opportunity has no held payment."))
    if payout.state is not PayoutState.FUNDED:
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
    if payout is None or payout.state is not PayoutState.TRANSFER_FAILED:
        raise Conflict(_("Only a failed transfer can be retried."))
    payments.transition(session, payout, PayoutState.RELEASING, actor=admin)
    payout.transfer_attempts = 0
