"""Proposal rules: short by design, the deadline enforced on the server to the second, one active
proposal per developer, and nobody but the author reads it before the deadline."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import links
from app.config import Settings
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.i18n import gettext as _
from app.lifecycle import guarded_transition
from app.models import (
    ConflictDeclaration,
    Opportunity,
    OpportunityState,
    Proposal,
    TeamRole,
    User,
)
from app.models import ProposalState as P
from app.models.base import utcnow
from app.notifications import service as notifications
from app.proposals import repository
from app.reviews import repository as reviews_repository
from app.teams import repository as teams_repository
from app.text import format_money

ALLOWED: Mapping[P, frozenset[P]] = {
    P.DRAFT: frozenset({P.SUBMITTED, P.WITHDRAWN}),
    P.SUBMITTED: frozenset({P.WITHDRAWN, P.UNDER_EVALUATION}),
    P.WITHDRAWN: frozenset(),
    P.UNDER_EVALUATION: frozenset({P.AWARDED, P.NOT_AWARDED, P.DISQUALIFIED}),
    # The team may award the next-ranked proposal when the winner does not accept in time.
    P.AWARDED: frozenset({P.NOT_AWARDED}),
    P.NOT_AWARDED: frozenset({P.AWARDED}),
    P.DISQUALIFIED: frozenset(),
}
_WORD = re.compile(r"\S+")
VISIBLE_AFTER_DEADLINE = frozenset(
    {P.SUBMITTED, P.UNDER_EVALUATION, P.AWARDED, P.NOT_AWARDED, P.DISQUALIFIED}
)
# The evaluation is over for the proposal: its author may read the scores and comments.
DECIDED = frozenset({P.AWARDED, P.NOT_AWARDED, P.DISQUALIFIED})


def transition(
    session: Session,
    proposal: Proposal,
    to_state: P,
    *,
    actor: User | None,
    details: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> None:
    guarded_transition(
        session,
        proposal,
        to_state,
        ALLOWED,
        actor_user_id=actor.id if actor else None,
        subject_type="proposal",
        refused=_("This proposal can no longer be changed this way."),
        extra_values={"updated_at": utcnow(), **(extra or {})},
        details=details,
    )


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


@dataclass
class ProposalInput:
    approach: str
    experience: str
    links: str
    price_cents: int | None
    delivery_date: date | None
    accept_terms: bool
    attest_eligibility: bool


def _open_for_proposals(opportunity: Opportunity, now: datetime) -> bool:
    return opportunity.state == OpportunityState.PUBLISHED and now < (opportunity.proposal_deadline)


def refuse_unless_eligible(session: Session, opportunity: Opportunity, user: User) -> None:
    if teams_repository.roles_of(session, user.id, opportunity.team_id):
        raise Forbidden(_("Members of the team that posted this opportunity cannot propose."))
    refusal = conflict_of_interest(session, opportunity, user)
    if refusal is not None:
        raise refusal


def conflict_of_interest(
    session: Session, opportunity: Opportunity, user: User
) -> Forbidden | None:
    """A peer reviewer helped write the opportunity (issue 16): proposing on it would be a
    conflict of interest, whatever they wrote in their review."""
    if reviews_repository.first_review_by(session, opportunity.id, user.id) is None:
        return None
    return Forbidden(
        _(
            "You peer reviewed the draft of this opportunity, so you cannot propose on it: "
            "that would be a conflict of interest."
        )
    )


def validate(
    data: ProposalInput, opportunity: Opportunity, settings: Settings, *, submitting: bool
) -> dict[str, str]:
    errors: dict[str, str] = {}
    words = word_count(data.approach)
    if words > settings.proposal_word_limit:
        errors["approach"] = _(
            "Keep your approach to %(limit)s words; it has %(count)s.",
            limit=settings.proposal_word_limit,
            count=words,
        )
    if data.price_cents is None:
        errors["price"] = _("Enter your price in dollars, for example 4000 or 4000.00.")
    elif not 0 < data.price_cents <= opportunity.amount_cents:
        errors["price"] = _(
            "Your price must be more than zero and at most %(amount)s.",
            amount=format_money(opportunity.amount_cents, opportunity.currency),
        )
    if data.delivery_date and data.delivery_date < opportunity.proposal_deadline.date():
        errors["delivery_date"] = _("The delivery date must be after the proposal deadline.")
    links = [line.strip() for line in data.links.splitlines() if line.strip()]
    if any(not link.startswith(("https://", "http://")) for link in links) or len(links) > 10:
        errors["links"] = _("Up to 10 web addresses, one per line, each starting with https://.")
    if submitting:
        if not data.approach.strip():
            errors["approach"] = _("Describe how you would solve the problem.")
        if not data.accept_terms:
            errors["accept_terms"] = _("Accept the contract terms to submit.")
        if not data.attest_eligibility:
            errors["attest_eligibility"] = _("Confirm your eligibility to submit.")
    return errors


def save(
    session: Session,
    opportunity: Opportunity,
    user: User,
    data: ProposalInput,
    *,
    submit: bool,
    settings: Settings,
    now: datetime | None = None,
) -> Proposal:
    """Saves (and, when asked, submits) the person's one active proposal, or refuses and saves
    nothing: a late submit leaves no draft behind."""
    _lock(session, opportunity)
    now = now or utcnow()  # read after the lock: a wait for it cannot stretch the deadline
    if not _open_for_proposals(opportunity, now):
        raise Conflict(_("The deadline for proposals has passed. Nothing was saved."))
    refuse_unless_eligible(session, opportunity, user)
    errors = validate(data, opportunity, settings, submitting=submit)
    if errors:
        raise ValidationFailed(field_errors=errors)
    assert data.price_cents is not None
    proposal = repository.active_for(session, opportunity.id, user.id)
    if proposal is None:
        proposal = Proposal(
            opportunity_id=opportunity.id,
            author_user_id=user.id,
            state=P.DRAFT,
            price_cents=data.price_cents,
            currency=opportunity.currency,
        )
        session.add(proposal)
    proposal.approach = data.approach.strip()
    proposal.experience = data.experience.strip()
    proposal.links = "\n".join(line.strip() for line in data.links.splitlines() if line.strip())
    proposal.price_cents = data.price_cents
    proposal.delivery_date = data.delivery_date
    if data.accept_terms:
        proposal.contract_terms_version = settings.contract_terms_version
        proposal.terms_accepted_at = proposal.terms_accepted_at or now
    if data.attest_eligibility:
        proposal.eligibility_attested_at = proposal.eligibility_attested_at or now
    try:
        session.flush()
    except IntegrityError as exc:  # a second tab created the proposal at the same moment
        raise Conflict(
            _("You already have a proposal for this opportunity. Reload the page.")
        ) from exc
    if submit and proposal.state == P.DRAFT:
        transition(session, proposal, P.SUBMITTED, actor=user, extra={"submitted_at": now})
        _tell_the_team(session, opportunity, proposal)
    return proposal


def _tell_the_team(session: Session, opportunity: Opportunity, proposal: Proposal) -> None:
    team = teams_repository.members_with_roles(
        session, opportunity.team_id, (TeamRole.OWNER, TeamRole.EVALUATOR)
    )
    notifications.notify(
        session,
        team,
        "proposal_received",
        str(proposal.id),
        lambda: (
            _("New proposal for %(title)s", title=opportunity.title),
            _("A proposal was submitted. Proposals stay sealed until the deadline."),
        ),
        link=links.evaluation(opportunity.id),
    )


def withdraw(
    session: Session, opportunity: Opportunity, user: User, now: datetime | None = None
) -> Proposal:
    _lock(session, opportunity)
    now = now or utcnow()
    if not _open_for_proposals(opportunity, now):
        raise Conflict(_("The deadline has passed; a proposal can no longer be withdrawn."))
    proposal = repository.active_for(session, opportunity.id, user.id)
    if proposal is None:
        raise NotFound()
    transition(session, proposal, P.WITHDRAWN, actor=user)
    return proposal


def _lock(session: Session, opportunity: Opportunity) -> None:
    """Serialises proposal writes with the deadline job on this opportunity (PostgreSQL row lock;
    SQLite serialises writers anyway), then re-reads its state."""
    session.execute(
        select(Opportunity.id).where(Opportunity.id == opportunity.id).with_for_update()
    )
    session.refresh(opportunity)


def close_submissions(session: Session, opportunity: Opportunity) -> int:
    """At the deadline: submitted proposals go to evaluation; drafts simply never count."""
    ids = repository.submitted_ids(session, opportunity.id)
    for proposal_id in ids:
        proposal = session.get(Proposal, proposal_id)
        if proposal is not None:
            transition(session, proposal, P.UNDER_EVALUATION, actor=None)
    return len(ids)


# --- Who may read a proposal -------------------------------------------------------------------


def declaration_of(
    session: Session, opportunity_id: int, user_id: int
) -> ConflictDeclaration | None:
    return session.scalars(
        select(ConflictDeclaration).where(
            ConflictDeclaration.opportunity_id == opportunity_id,
            ConflictDeclaration.user_id == user_id,
        )
    ).first()


def may_evaluate(session: Session, opportunity: Opportunity, user: User, now: datetime) -> bool:
    """An evaluator of the team, after the deadline, who declared no conflict of interest."""
    if now < opportunity.proposal_deadline:
        return False
    if TeamRole.EVALUATOR not in teams_repository.roles_of(session, user.id, opportunity.team_id):
        return False
    declaration = declaration_of(session, opportunity.id, user.id)
    return declaration is not None and not declaration.has_conflict


def anonymous_to(session: Session, opportunity: Opportunity, user: User | None) -> bool:
    """Evaluation is blind (issue 16): an evaluator of the team who has not declared a conflict
    does not learn who sent the proposals until they have submitted their evaluation of every
    proposal under evaluation. Then, at the consensus, the names appear; an award (no proposal
    left under evaluation) makes the winner public anyway."""
    if user is None:
        return False
    if TeamRole.EVALUATOR not in teams_repository.roles_of(session, user.id, opportunity.team_id):
        return False
    declaration = declaration_of(session, opportunity.id, user.id)
    if declaration is not None and declaration.has_conflict:
        return False
    return repository.not_evaluated_by(session, opportunity.id, user.id) > 0


def letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA, as spreadsheet columns are named."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def letters(session: Session, opportunity_id: int) -> dict[int, str]:
    """Each proposal received, by id: "A", "B", ... in the order they were submitted. Stable
    once the deadline has passed, since nothing is submitted or withdrawn after it."""
    return {
        proposal.id: letter(index)
        for index, (proposal, _author) in enumerate(repository.received(session, opportunity_id))
    }


def may_read(
    session: Session,
    proposal: Proposal,
    opportunity: Opportunity,
    user: User | None,
    now: datetime | None = None,
) -> bool:
    if user is None:
        return False
    if proposal.author_user_id == user.id:
        return True
    now = now or utcnow()
    return proposal.state in VISIBLE_AFTER_DEADLINE and may_evaluate(
        session, opportunity, user, now
    )


def get_readable(
    session: Session, proposal_id: int, user: User | None
) -> tuple[Proposal, Opportunity]:
    proposal = session.get(Proposal, proposal_id)
    opportunity = session.get(Opportunity, proposal.opportunity_id) if proposal else None
    if (
        proposal is None
        or opportunity is None
        or not may_read(session, proposal, opportunity, user)
    ):
        raise NotFound()  # whether it exists is itself private
    return proposal, opportunity
