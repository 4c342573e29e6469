"""Evaluation rules: declare no conflict before reading, score independently, rank by the
documented rule (scoring.py), award on the record, and tell everyone the outcome."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from app import i18n, links
from app.audit import service as audit
from app.config import Settings
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.evaluations import repository
from app.evaluations.scoring import Candidate, Criterion, Ranked, rank
from app.github import narration
from app.i18n import gettext as _
from app.models import (
    Award,
    ConflictDeclaration,
    EvaluationSubmission,
    Opportunity,
    OpportunityState,
    Proposal,
    ProposalState,
    RubricCriterion,
    Score,
    TeamRole,
    User,
)
from app.models.base import utcnow
from app.notifications import service as notifications
from app.opportunities import service as opportunities
from app.proposals import repository as proposals_repository
from app.proposals import service as proposals
from app.reviews import repository as reviews_repository
from app.teams import repository as teams_repository

DEFAULT_RUBRIC = (
    # key, weight, is_price
    ("understanding", 30, False),
    ("approach", 30, False),
    ("experience", 20, False),
    ("price", 20, True),
)


def rubric_of(session: Session, opportunity: Opportunity) -> list[RubricCriterion]:
    """The opportunity's rubric, or the default one. Reading never writes: the default is not
    stored, so a page view of an opportunity costs no insert."""
    stored = list(repository.rubric(session, opportunity.id))
    return stored or [
        RubricCriterion(
            opportunity_id=opportunity.id,
            key=key,
            label=key,
            weight=weight,
            is_price=is_price,
            position=position,
        )
        for position, (key, weight, is_price) in enumerate(DEFAULT_RUBRIC)
    ]


def reviewed_the_draft(session: Session, opportunity: Opportunity, user: User) -> datetime | None:
    """When this person peer reviewed the opportunity's draft (before they joined the team, as
    a team never reviews its own drafts), if they did."""
    review = reviews_repository.first_review_by(session, opportunity.id, user.id)
    return review.submitted_at if review else None


def declare(
    session: Session,
    opportunity: Opportunity,
    user: User,
    *,
    has_conflict: bool,
    note: str,
    reviewed_draft: bool = False,
) -> ConflictDeclaration:
    """An evaluator's declaration, once. One who peer reviewed the draft must say so (issue 16);
    it is recorded with the declaration for the owner to read."""
    if TeamRole.EVALUATOR not in teams_repository.roles_of(session, user.id, opportunity.team_id):
        raise Forbidden()
    if proposals.declaration_of(session, opportunity.id, user.id) is not None:
        raise Conflict(_("You have already made your declaration for this opportunity."))
    reviewed = reviewed_the_draft(session, opportunity, user) is not None
    if reviewed and not reviewed_draft:
        raise ValidationFailed(
            field_errors={
                "reviewed_draft": _(
                    "You peer reviewed the draft of this opportunity: say so in your declaration."
                )
            }
        )
    declaration = ConflictDeclaration(
        opportunity_id=opportunity.id,
        user_id=user.id,
        has_conflict=has_conflict,
        # What the person says, and at least what the record shows.
        reviewed_draft=reviewed or reviewed_draft,
        note=note.strip()[:2000],
    )
    session.add(declaration)
    audit.record(
        session,
        actor_user_id=user.id,
        action="evaluation.declared",
        subject_type="opportunity",
        subject_id=opportunity.id,
        details={"has_conflict": has_conflict, "reviewed_draft": declaration.reviewed_draft},
    )
    return declaration


def declarations(
    session: Session, opportunity: Opportunity, user: User
) -> Sequence[tuple[ConflictDeclaration, User]]:
    """The team's evaluators' declarations, for its owners (who decide what a conflict means
    for the award); nobody else's business."""
    if TeamRole.OWNER not in teams_repository.roles_of(session, user.id, opportunity.team_id):
        return ()
    return repository.declarations(session, opportunity.id)


def _evaluable(session: Session, proposal_id: int, user: User) -> tuple[Proposal, Opportunity]:
    proposal = session.get(Proposal, proposal_id)
    opportunity = session.get(Opportunity, proposal.opportunity_id) if proposal else None
    if proposal is None or opportunity is None:
        raise NotFound()
    if not proposals.may_evaluate(session, opportunity, user, utcnow()):
        raise NotFound()
    if proposal.state != ProposalState.UNDER_EVALUATION:
        raise Conflict(_("Only proposals under evaluation can be scored."))
    return proposal, opportunity


def score(
    session: Session,
    proposal_id: int,
    user: User,
    scores: dict[str, tuple[int | None, str]],
    *,
    submit: bool,
) -> Proposal:
    proposal, opportunity = _evaluable(session, proposal_id, user)
    if repository.has_submitted(session, proposal.id, user.id):
        raise Conflict(_("You have already submitted your evaluation of this proposal."))
    criteria = [c for c in rubric_of(session, opportunity) if not c.is_price]
    errors = {}
    for criterion in criteria:
        value, _comment = scores.get(criterion.key, (None, ""))
        if value is None or not 0 <= value <= 5:
            errors[f"score_{criterion.key}"] = _("Give a score from 0 to 5.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    existing = repository.my_scores(session, proposal.id, user.id)
    for criterion in criteria:
        value, comment = scores[criterion.key]
        assert value is not None
        row = existing.get(criterion.key) or Score(
            proposal_id=proposal.id, evaluator_user_id=user.id, criterion_key=criterion.key
        )
        row.score = value
        row.comment = comment.strip()[:4000]
        session.add(row)
    if submit:
        session.add(EvaluationSubmission(proposal_id=proposal.id, evaluator_user_id=user.id))
        audit.record(
            session,
            actor_user_id=user.id,
            action="evaluation.submitted",
            subject_type="proposal",
            subject_id=proposal.id,
        )
    session.flush()
    return proposal


def disqualify(session: Session, proposal_id: int, user: User, reason: str) -> Proposal:
    proposal, _opportunity = _evaluable(session, proposal_id, user)
    if not reason.strip():
        raise ValidationFailed(field_errors={"reason": _("Give the reason for disqualifying.")})
    proposals.transition(
        session,
        proposal,
        ProposalState.DISQUALIFIED,
        actor=user,
        details={"reason": reason.strip()},
        extra={"disqualified_reason": reason.strip()},
    )
    return proposal


@dataclass(frozen=True)
class ConsensusRow:
    proposal: Proposal
    author: User
    ranked: Ranked | None  # None for a disqualified proposal
    evaluations: int


def sealed(opportunity: Opportunity, now: datetime | None = None) -> bool:
    """Before the deadline nothing about a proposal leaves its author, not even that a given
    person bid: not to the team's owners, evaluators or anyone else."""
    return (now or utcnow()) < opportunity.proposal_deadline


def _still_sealed() -> Conflict:
    return Conflict(
        _(
            "Proposals stay sealed until the deadline: before it, nobody, the team included, "
            "sees them or who sent them."
        )
    )


def sealed_bids(session: Session, proposal_ids: Collection[int]) -> set[int]:
    """Which of these proposals are still sealed: whoever reads about them (the audit trail's
    administrators too) must not learn, before the deadline, who sent them."""
    return repository.proposals_before_deadline(session, proposal_ids, utcnow())


def blind_bids(session: Session, proposal_ids: Collection[int], reader: User) -> set[int]:
    """Which of these proposals the reader evaluates blind, so must not tie to their authors
    yet: an administrator (who reads the audit trail) may evaluate for a team too."""
    of_proposal = repository.opportunity_of_proposals(session, proposal_ids)
    blind = set()
    for opportunity_id in set(of_proposal.values()):
        opportunity = session.get(Opportunity, opportunity_id)
        if opportunity is not None and proposals.anonymous_to(session, opportunity, reader):
            blind.add(opportunity_id)
    return {pid for pid, opportunity_id in of_proposal.items() if opportunity_id in blind}


def received(session: Session, opportunity: Opportunity) -> Sequence[tuple[Proposal, User]]:
    """The proposals received, with their authors, once the deadline has unsealed them; none
    before it, whoever asks."""
    if sealed(opportunity):
        return ()
    return proposals_repository.received(session, opportunity.id)


def consensus(session: Session, opportunity: Opportunity) -> list[ConsensusRow]:
    """The ranking of the proposals received: empty while they are sealed."""
    return _ranking(session, opportunity, received(session, opportunity))


def _ranking(
    session: Session, opportunity: Opportunity, bids: Sequence[tuple[Proposal, User]]
) -> list[ConsensusRow]:
    ids = [p.id for p, _author in bids]
    scores = repository.submitted_scores(session, ids)
    criteria = [Criterion(c.key, c.weight, c.is_price) for c in rubric_of(session, opportunity)]
    candidates = [
        Candidate(
            p.id,
            p.price_cents,
            p.submitted_at or p.created_at,
            p.state == ProposalState.DISQUALIFIED,
            scores.get(p.id, {}),
        )
        for p, _author in bids
    ]
    ranked = {r.proposal_id: r for r in rank(criteria, candidates)}
    counts = repository.submission_counts(session, ids)
    rows = [ConsensusRow(p, author, ranked.get(p.id), counts.get(p.id, 0)) for p, author in bids]
    return sorted(rows, key=lambda r: (r.ranked is None, r.ranked.rank if r.ranked else 0))


def may_see_consensus(session: Session, opportunity: Opportunity, user: User) -> bool:
    """Nobody before the deadline. After it, owners (they award); an evaluator once they have
    submitted an evaluation of every proposal (an owner who also evaluates too: until then the
    evaluation is blind)."""
    if sealed(opportunity) or proposals.anonymous_to(session, opportunity, user):
        return False  # blind evaluation: an evaluator still scoring meets no names
    roles = teams_repository.roles_of(session, user.id, opportunity.team_id)
    if TeamRole.OWNER in roles:
        return True
    if TeamRole.EVALUATOR not in roles or not proposals.may_evaluate(
        session, opportunity, user, utcnow()
    ):
        return False
    pending = [
        p
        for p, _a in received(session, opportunity)
        if p.state == ProposalState.UNDER_EVALUATION
        and not repository.has_submitted(session, p.id, user.id)
    ]
    return not pending


def visible_consensus(session: Session, opportunity: Opportunity, user: User) -> list[ConsensusRow]:
    """The ranking for someone who may see it now, or a Conflict that says when they will."""
    if sealed(opportunity):
        raise _still_sealed()
    if not may_see_consensus(session, opportunity, user):
        raise Conflict(
            _(
                "You will see the consensus once you have submitted your evaluation of "
                "every proposal."
            )
        )
    return consensus(session, opportunity)


def award(
    session: Session,
    opportunity: Opportunity,
    user: User,
    proposal_id: int,
    reason: str,
    settings: Settings,
) -> Award:
    if TeamRole.OWNER not in teams_repository.roles_of(session, user.id, opportunity.team_id):
        raise Forbidden()
    if sealed(opportunity):  # before any other check: an answer must not hint at the bids
        raise _still_sealed()
    rows = consensus(session, opportunity)
    chosen = next((r for r in rows if r.proposal.id == proposal_id and r.ranked), None)
    if chosen is None:
        raise ValidationFailed(field_errors={"proposal": _("Choose one of the ranked proposals.")})
    short = [r for r in rows if r.ranked and r.evaluations < settings.min_complete_evaluations]
    if short:
        raise Conflict(
            _(
                "Every proposal needs at least %(n)s complete evaluations before an award.",
                n=settings.min_complete_evaluations,
            )
        )
    assert chosen.ranked is not None
    if chosen.ranked.rank != 1 and not reason.strip():
        raise ValidationFailed(
            field_errors={"reason": _("Explain why you are not choosing the top-ranked proposal.")}
        )
    existing = repository.award_for(session, opportunity.id)
    if existing is not None:
        return _award_next(session, opportunity, user, existing, chosen.proposal, reason, settings)
    opportunities.transition(
        session,
        opportunity,
        OpportunityState.AWARDED,
        actor=user,
        details={"proposal_id": proposal_id, "reason": reason.strip()},
    )
    for row in rows:
        if row.proposal.state != ProposalState.UNDER_EVALUATION:
            continue
        target = (
            ProposalState.AWARDED if row.proposal.id == proposal_id else (ProposalState.NOT_AWARDED)
        )
        proposals.transition(session, row.proposal, target, actor=user)
    record = Award(
        opportunity_id=opportunity.id,
        proposal_id=proposal_id,
        reason=reason.strip() or _("Top-ranked proposal."),
        reason_lang=i18n.get_locale(),
        awarded_by_user_id=user.id,
        accept_by=utcnow() + timedelta(days=settings.award_acceptance_days),
    )
    session.add(record)
    session.flush()
    _tell_the_bidders(session, opportunity, rows, proposal_id, settings.award_acceptance_days)
    _narrate_award(session, opportunity, chosen.proposal, settings)
    return record


def _narrate_award(
    session: Session, opportunity: Opportunity, proposal: Proposal, settings: Settings
) -> None:
    winner = session.get(User, proposal.author_user_id)
    if winner is not None:
        narration.awarded(session, opportunity, proposal.id, winner.login, settings.base_url)


def _tell_the_bidders(
    session: Session,
    opportunity: Opportunity,
    rows: list[ConsensusRow],
    winner_id: int,
    days: int,
) -> None:
    winners = [row.author for row in rows if row.proposal.id == winner_id]
    others = [row.author for row in rows if row.proposal.id != winner_id]
    _tell_the_winner(session, opportunity, winners, winner_id, days)
    notifications.notify(
        session,
        others,
        "not_awarded",
        str(opportunity.id),
        lambda: (
            _("Outcome for %(title)s", title=opportunity.title),
            _(
                "Another proposal was awarded. Thank you for yours; your scores and the "
                "evaluators' comments are on your proposal page."
            ),
        ),
        link=links.your_proposal(opportunity.id),
    )


def _tell_the_winner(
    session: Session, opportunity: Opportunity, winners: list[User], proposal_id: int, days: int
) -> None:
    notifications.notify(
        session,
        winners,
        "awarded",
        str(proposal_id),
        lambda: (
            _("Your proposal was awarded: %(title)s", title=opportunity.title),
            _(
                "Congratulations. Accept the contract within %(days)s days to start the work.",
                days=days,
            ),
        ),
        link=links.your_proposal(opportunity.id),
    )


def _award_next(
    session: Session,
    opportunity: Opportunity,
    user: User,
    existing: Award,
    chosen: Proposal,
    reason: str,
    settings: Settings,
) -> Award:
    """The winner did not accept in time: the team may award another ranked proposal."""
    if existing.accepted_at is not None or utcnow() < existing.accept_by:
        raise Conflict(
            _(
                "The awarded developer can still accept; wait until %(when)s.",
                when=existing.accept_by.date().isoformat(),
            )
        )
    previous = session.get(Proposal, existing.proposal_id)
    assert previous is not None
    proposals.transition(
        session,
        previous,
        ProposalState.NOT_AWARDED,
        actor=user,
        details={"reason": "did not accept in time"},
    )
    proposals.transition(session, chosen, ProposalState.AWARDED, actor=user)
    existing.proposal_id = chosen.id
    existing.reason = reason.strip()
    existing.reason_lang = i18n.get_locale()
    existing.awarded_by_user_id = user.id
    existing.awarded_at = utcnow()
    existing.accept_by = utcnow() + timedelta(days=settings.award_acceptance_days)
    audit.record(
        session,
        actor_user_id=user.id,
        action="award.reassigned",
        subject_type="opportunity",
        subject_id=opportunity.id,
        details={"proposal_id": chosen.id},
    )
    _narrate_award(session, opportunity, chosen, settings)
    winner = session.get(User, chosen.author_user_id)
    _tell_the_winner(
        session, opportunity, [winner] if winner else [], chosen.id, settings.award_acceptance_days
    )
    return existing


def next_ranked(session: Session, opportunity: Opportunity) -> ConsensusRow | None:
    """The best-ranked proposal that never held this contract: ranked (not disqualified),
    not awarded, and not the proposal of an award that ended."""
    held = repository.awarded_proposal_ids(session, opportunity.id)
    return next(
        (
            row
            for row in consensus(session, opportunity)
            if row.ranked
            and row.proposal.state == ProposalState.NOT_AWARDED
            and row.proposal.id not in held
        ),
        None,
    )


def replace_award(
    session: Session,
    opportunity: Opportunity,
    user: User,
    chosen: Proposal,
    reason: str,
    settings: Settings,
) -> tuple[Award, Award]:
    """Ends the current award (kept as history, ``ended_at``) and awards ``chosen`` with a new
    one; returns (ended, new). The opportunity's own state is the caller's."""
    if TeamRole.OWNER not in teams_repository.roles_of(session, user.id, opportunity.team_id):
        raise Forbidden()
    ended = repository.award_for(session, opportunity.id)
    if ended is None:
        raise Conflict(_("This opportunity has no award to end."))
    now = utcnow()
    ended.ended_at = now
    ended.end_reason = reason.strip()
    session.flush()  # one current award per opportunity: the ended one steps aside first
    previous = session.get(Proposal, ended.proposal_id)
    assert previous is not None
    proposals.transition(
        session, previous, ProposalState.NOT_AWARDED, actor=user, details={"reason": reason}
    )
    proposals.transition(session, chosen, ProposalState.AWARDED, actor=user)
    record = Award(
        opportunity_id=opportunity.id,
        proposal_id=chosen.id,
        reason=reason.strip(),
        reason_lang=i18n.get_locale(),
        awarded_by_user_id=user.id,
        accept_by=now + timedelta(days=settings.award_acceptance_days),
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor_user_id=user.id,
        action="award.replaced",
        subject_type="opportunity",
        subject_id=opportunity.id,
        details={"ended_award_id": ended.id, "award_id": record.id, "proposal_id": chosen.id},
    )
    _narrate_award(session, opportunity, chosen, settings)
    winner = session.get(User, chosen.author_user_id)
    _tell_the_winner(
        session, opportunity, [winner] if winner else [], chosen.id, settings.award_acceptance_days
    )
    return ended, record


def accept_award(session: Session, opportunity: Opportunity, user: User) -> Award:
    record = repository.award_for(session, opportunity.id)
    proposal = session.get(Proposal, record.proposal_id) if record else None
    if record is None or proposal is None or proposal.author_user_id != user.id:
        raise NotFound()
    if record.accepted_at is not None:
        return record
    if utcnow() > record.accept_by:
        raise Conflict(_("The time to accept this award has passed."))
    record.accepted_at = utcnow()
    audit.record(
        session,
        actor_user_id=user.id,
        action="award.accepted",
        subject_type="opportunity",
        subject_id=opportunity.id,
    )
    return record


def awaits_acceptance(opportunity: Opportunity, award: Award, now: datetime) -> bool:
    """The awardee may still accept: awarded, not accepted yet, and within the time to accept
    (what the award notice, the proposal page and "My work" offer)."""
    return (
        opportunity.state == OpportunityState.AWARDED
        and award.accepted_at is None
        and now <= award.accept_by
    )


@dataclass(frozen=True)
class AwardNotice:
    """What everyone may know about an award: winner, price, score summary."""

    winner_login: str
    winner_name: str
    price_cents: int
    currency: str
    total: Decimal
    averages: dict[str, Decimal]
    proposals_received: int
    reason: str
    awarded_at: datetime
    reason_lang: str


def public_notice(session: Session, opportunity: Opportunity) -> AwardNotice | None:
    record = repository.award_for(session, opportunity.id)
    if record is None:
        return None
    # An award is made only once the deadline has unsealed the bids (award() refuses before).
    bids = proposals_repository.received(session, opportunity.id)
    rows = _ranking(session, opportunity, bids)
    winner = next((r for r in rows if r.proposal.id == record.proposal_id), None)
    if winner is None or winner.ranked is None:
        return None
    return AwardNotice(
        winner.author.login,
        winner.author.shown_name,
        winner.proposal.price_cents,
        winner.proposal.currency,
        winner.ranked.total,
        winner.ranked.averages,
        len(rows),
        record.reason,
        record.awarded_at,
        record.reason_lang,
    )


def reopen(
    session: Session, opportunity: Opportunity, user: User, deadline: datetime | None
) -> None:
    """No proposal arrived: open again with a new deadline."""
    if TeamRole.OWNER not in teams_repository.roles_of(session, user.id, opportunity.team_id):
        raise Forbidden()
    if received(session, opportunity):
        raise Conflict(_("Proposals were received; evaluate them instead."))
    if deadline is None or deadline <= utcnow():
        raise ValidationFailed(
            field_errors={"proposal_deadline": _("The proposal deadline must be in the future.")}
        )
    opportunities.transition(
        session,
        opportunity,
        OpportunityState.PUBLISHED,
        actor=user,
        details={"new_deadline": deadline.isoformat()},
    )
    opportunity.proposal_deadline = deadline


def close_unsuccessful(session: Session, opportunity: Opportunity, user: User, reason: str) -> None:
    if TeamRole.OWNER not in teams_repository.roles_of(session, user.id, opportunity.team_id):
        raise Forbidden()
    if not reason.strip():
        raise ValidationFailed(field_errors={"reason": _("Say why no proposal is awarded.")})
    opportunities.transition(
        session,
        opportunity,
        OpportunityState.UNSUCCESSFUL,
        actor=user,
        details={"reason": reason.strip()},
    )
    for proposal, _author in proposals_repository.received(session, opportunity.id):
        if proposal.state == ProposalState.UNDER_EVALUATION:
            proposals.transition(session, proposal, ProposalState.NOT_AWARDED, actor=user)
