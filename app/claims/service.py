"""Claims: a disagreement about delivery. Either side of a contract (the awardee, or the team's
owner or finance person) opens one on work in progress, merged or paid, with a reason. While
the money is still held, the claim holds it (the work goes on hold, and no release happens while
a claim is open); administrators and the other side are told, and the queue shows it. One
administrator proposes a resolution and a different one confirms it:

- release: the whole payment goes to the developer side, as a normal release;
- partial: an amount goes to the developer side (shared by the co-authors' split), the rest is
  refunded to the team;
- refund: everything goes back to the team, and the work is cancelled.

A claim opened after the money left is recorded with its resolution, and moves no money.
"A dispute" is a card chargeback (payments); the two are never mixed. Nothing here commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app import links
from app.audit import service as audit
from app.claims import repository
from app.claims.labels import resolution_label
from app.errors import Conflict, NotFound, ValidationFailed
from app.i18n import N_
from app.i18n import gettext as _
from app.lifecycle import guarded_transition
from app.models import (
    Claim,
    ClaimSide,
    ClaimState,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutState,
    Resolution,
    TeamRole,
    User,
)
from app.models.base import utcnow
from app.notifications import service as notifications
from app.opportunities import service as opportunities
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payonpull.service import hold_work
from app.teams import repository as teams_repository
from app.text import format_money

C = ClaimState
ALLOWED_TRANSITIONS = {
    C.OPEN: frozenset({C.PROPOSED}),
    C.PROPOSED: frozenset({C.RESOLVED}),
    C.RESOLVED: frozenset[ClaimState](),
}
CLAIMABLE = frozenset(
    {OpportunityState.IN_PROGRESS, OpportunityState.MERGED, OpportunityState.PAID}
)
TEAM_SIDE = frozenset({TeamRole.OWNER, TeamRole.FINANCE})
MAX_REASON = 4000
# The hold's reason, in English in the audit trail (the queue translates it).
CLAIM_OPENED = N_("a claim about delivery was opened")


def transition(
    session: Session, claim: Claim, to_state: ClaimState, *, actor: User, **details: Any
) -> None:
    guarded_transition(
        session,
        claim,
        to_state,
        ALLOWED_TRANSITIONS,
        actor_user_id=actor.id,
        subject_type="claim",
        refused=_("This claim has moved on; reload the page."),
        extra_values={"updated_at": utcnow()},
        details={"opportunity_id": claim.opportunity_id, **details},
    )


def side_of(session: Session, opportunity: Opportunity, user: User) -> ClaimSide | None:
    """Which side of the contract this person is on, if any."""
    found = payments_repository.awardee_of(session, opportunity.id)
    if found is not None and found[1].id == user.id:
        return ClaimSide.DEVELOPER
    if teams_repository.roles_of(session, user.id, opportunity.team_id) & TEAM_SIDE:
        return ClaimSide.TEAM
    return None


def claims_for(session: Session, opportunity: Opportunity, user: User) -> list[Claim]:
    """The contract's claims, to its two sides and to administrators; to anyone else there is
    nothing here."""
    if not user.is_admin and side_of(session, opportunity, user) is None:
        raise NotFound()
    return list(repository.claims_of(session, opportunity.id))


def get_claim(session: Session, claim_id: int) -> Claim:
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound()
    return claim


def _opportunity(session: Session, claim: Claim) -> Opportunity:
    opportunity = session.get(Opportunity, claim.opportunity_id)
    assert opportunity is not None
    return opportunity


def open_claim(session: Session, opportunity: Opportunity, user: User, reason: str) -> Claim:
    side = side_of(session, opportunity, user)
    if side is None:
        raise NotFound()
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(field_errors={"reason": _("Say what went wrong.")})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            field_errors={"reason": _("Keep it under %(count)s characters.", count=MAX_REASON)}
        )
    # Locked, so that the claim and the release job never both decide about the money.
    payout = payments_repository.locked_payout_for(session, opportunity.id)
    session.refresh(opportunity)
    if opportunity.state not in CLAIMABLE or payout is None:
        raise Conflict(_("A claim can be opened on work in progress, merged or paid."))
    if repository.open_claim_of(session, opportunity.id) is not None:
        raise Conflict(_("A claim about this work is already open."))
    held = payout.state is PayoutState.FUNDED and opportunity.state != OpportunityState.PAID
    claim = Claim(
        opportunity_id=opportunity.id,
        payout_id=payout.id,
        opened_by_user_id=user.id,
        side=side,
        reason=reason,
        money_held=held,
    )
    session.add(claim)
    session.flush()
    _timeline(session, user, claim, "claim.opened", side=side.value, money_held=held)
    if held:
        payout.release_due_at = None
        payout.release_approved_by_user_id = None
        hold_work(session, opportunity, [f"{CLAIM_OPENED}: #{claim.id}"], {"claim_id": claim.id})
    _tell_about_opening(session, opportunity, claim, user)
    return claim


def _timeline(session: Session, actor: User, claim: Claim, action: str, **details: Any) -> None:
    """Each step is on the opportunity's own trail too."""
    audit.record(
        session,
        actor_user_id=actor.id,
        action=action,
        subject_type="opportunity",
        subject_id=claim.opportunity_id,
        details={"claim_id": claim.id, **details},
    )


def _other_side(session: Session, opportunity: Opportunity, claim: Claim) -> list[User]:
    if claim.side is ClaimSide.TEAM:
        found = payments_repository.awardee_of(session, opportunity.id)
        return [found[1]] if found else []
    return list(teams_repository.members_with_roles(session, opportunity.team_id, tuple(TEAM_SIDE)))


def _both_sides(session: Session, opportunity: Opportunity) -> list[User]:
    found = payments_repository.awardee_of(session, opportunity.id)
    team = teams_repository.members_with_roles(session, opportunity.team_id, tuple(TEAM_SIDE))
    return ([found[1]] if found else []) + list(team)


def _tell_about_opening(
    session: Session, opportunity: Opportunity, claim: Claim, opener: User
) -> None:
    def message() -> tuple[str, str]:
        held = (
            _("The payment is held until administrators resolve it.")
            if claim.money_held
            else _("The payment had already been released: the claim is kept on the record.")
        )
        return (
            _("A claim was opened about “%(title)s”", title=opportunity.title),
            _("@%(login)s opened a claim about delivery.", login=opener.login) + " " + held,
        )

    admins = [a for a in repository.administrators(session) if a.id != opener.id]
    notifications.notify(
        session, admins, "claim_opened", str(claim.id), message, link=links.claim_review(claim.id)
    )
    notifications.notify(
        session,
        [u for u in _other_side(session, opportunity, claim) if u.id != opener.id],
        "claim_opened",
        str(claim.id),
        message,
        link=links.claims(opportunity.id),
    )


def read_resolution(resolution: str, amount: int | None, payout: Payout) -> int:
    """The developer side's cents under this resolution (checked), or a field error."""
    if resolution not in set(Resolution):
        raise ValidationFailed(field_errors={"resolution": _("Choose a resolution.")})
    if resolution == Resolution.RELEASE:
        return payout.amount_cents
    if resolution == Resolution.REFUND:
        return 0
    if amount is None or not 0 < amount < payout.amount_cents:
        raise ValidationFailed(
            field_errors={
                "developer_amount": _(
                    "Give the developer side more than nothing and less than the contract "
                    "(%(amount)s).",
                    amount=format_money(payout.amount_cents, payout.currency),
                )
            }
        )
    return amount


def claim_payout(session: Session, claim: Claim) -> Payout:
    payout = session.get(Payout, claim.payout_id)
    assert payout is not None
    return payout


def propose(
    session: Session,
    claim_id: int,
    admin: User,
    resolution: str,
    developer_cents: int | None,
    note: str = "",
) -> Claim:
    """The first administrator proposes (or a later one replaces the proposal, which then
    needs yet another administrator's confirmation)."""
    claim = _locked(session, claim_id)
    if claim.state is C.RESOLVED:
        raise Conflict(_("This claim is already resolved."))
    payout = claim_payout(session, claim)
    cents = read_resolution(resolution, developer_cents, payout)
    if claim.state is C.OPEN:
        transition(session, claim, C.PROPOSED, actor=admin, resolution=resolution)
    claim.resolution = resolution
    claim.developer_cents = cents
    claim.note = note.strip()[:MAX_REASON]
    claim.proposed_by_user_id = admin.id
    _timeline(
        session, admin, claim, "claim.resolution_proposed", resolution=resolution, cents=cents
    )
    return claim


def _locked(session: Session, claim_id: int) -> Claim:
    claim = repository.locked_claim(session, claim_id)
    if claim is None:
        raise NotFound()
    return claim


def confirm(
    session: Session, claim_id: int, admin: User, resolution: str, developer_cents: int | None
) -> Claim:
    """A second administrator confirms the proposal they were shown (the resolution and the
    amount are sent back, so a proposal changed in the meantime is not confirmed blindly);
    then the money moves as decided, once."""
    claim = _locked(session, claim_id)
    if claim.state is not C.PROPOSED:
        raise Conflict(_("There is no proposed resolution to confirm."))
    if claim.proposed_by_user_id == admin.id:
        raise Conflict(_("A second administrator must confirm this resolution."))
    payout = claim_payout(session, claim)
    cents = read_resolution(resolution, developer_cents, payout)
    if (resolution, cents) != (claim.resolution, claim.developer_cents):
        raise Conflict(_("The proposal changed in the meantime; read it again."))
    proposer = claim.proposed_by_user_id
    transition(session, claim, C.RESOLVED, actor=admin, approved_by=[proposer, admin.id])
    claim.confirmed_by_user_id = admin.id
    claim.resolved_at = utcnow()
    moved = claim.money_held
    if moved:
        _move_money(session, claim, admin, [proposer, admin.id])
    _timeline(
        session,
        admin,
        claim,
        "claim.resolved",
        resolution=resolution,
        cents=cents,
        approved_by=[proposer, admin.id],
        money_moved=moved,
    )
    _tell_about_resolution(session, claim)
    return claim


def _move_money(session: Session, claim: Claim, admin: User, approvers: list[Any]) -> None:
    opportunity = _opportunity(session, claim)
    payout = payments_repository.locked_payout_for(session, opportunity.id)
    session.refresh(opportunity)
    if payout is None or payout.state is not PayoutState.FUNDED:
        raise Conflict(_("This payment is not held; see its money trail."))
    if opportunity.state != OpportunityState.ON_HOLD:
        raise Conflict(_("This work is not on hold any more; reload the page."))
    details = {"claim_id": claim.id, "approved_by": approvers}
    if claim.resolution == Resolution.REFUND:
        opportunities.transition(
            session, opportunity, OpportunityState.CANCELLED, actor=admin, details=details
        )
        payments.request_refund(session, payout, actor=admin, reason=f"claim #{claim.id}")
        return
    if claim.resolution == Resolution.PARTIAL:
        payments.give_back_part(session, payout, claim.developer_cents, actor=admin)
    opportunities.transition(
        session, opportunity, OpportunityState.MERGED, actor=admin, details=details
    )
    payments.request_release(session, opportunity, actor=admin)


def _tell_about_resolution(session: Session, claim: Claim) -> None:
    opportunity = _opportunity(session, claim)

    def message() -> tuple[str, str]:
        return (
            _("The claim about “%(title)s” is resolved", title=opportunity.title),
            _("Two administrators decided: %(what)s.", what=resolution_label(claim.resolution)),
        )

    notifications.notify(
        session,
        _both_sides(session, opportunity),
        "claim_resolved",
        str(claim.id),
        message,
        link=links.claims(opportunity.id),
    )
