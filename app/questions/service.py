"""Questions and addenda. Every answer and every change to a published opportunity becomes a
numbered, dated addendum; bidders hear about it, and a new deadline asks them to review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app import links
from app.audit import service as audit
from app.errors import Conflict, NotFound, ValidationFailed
from app.i18n import gettext as _
from app.models import Addendum, Opportunity, OpportunityState, ProposalState, Question, User
from app.models.base import utcnow
from app.notifications import service as notifications
from app.proposals import repository as proposals_repository
from app.questions import repository


def ask(session: Session, opportunity: Opportunity, user: User, body: str) -> Question:
    if opportunity.state != OpportunityState.PUBLISHED:
        raise Conflict(_("Questions can be asked while the opportunity is open for proposals."))
    if not body.strip() or len(body) > 2000:
        raise ValidationFailed(
            field_errors={"question": _("Write your question in at most 2,000 characters.")}
        )
    question = Question(opportunity_id=opportunity.id, asker_user_id=user.id, body=body.strip())
    session.add(question)
    session.flush()
    return question


def _add_addendum(
    session: Session,
    opportunity: Opportunity,
    user: User,
    body: str,
    new_deadline: datetime | None = None,
    question: Question | None = None,
) -> Addendum:
    addendum = Addendum(
        opportunity_id=opportunity.id,
        number=repository.next_addendum_number(session, opportunity.id),
        body=body,
        new_deadline=new_deadline,
        created_by_user_id=user.id,
        question_id=question.id if question else None,
    )
    session.add(addendum)
    session.flush()
    audit.record(
        session,
        actor_user_id=user.id,
        action="opportunity.addendum",
        subject_type="opportunity",
        subject_id=opportunity.id,
        details={"number": addendum.number},
    )
    _tell_the_bidders(session, opportunity, addendum)
    return addendum


def answer(session: Session, question_id: int, user: User, text: str) -> Addendum:
    question = session.get(Question, question_id)
    opportunity = session.get(Opportunity, question.opportunity_id) if question else None
    if question is None or opportunity is None:
        raise NotFound()
    if question.answered_at is not None:
        raise Conflict(_("This question is already answered."))
    if not text.strip():
        raise ValidationFailed(field_errors={"answer": _("Write the answer.")})
    question.answer = text.strip()
    question.answered_at = utcnow()
    question.answered_by_user_id = user.id
    addendum = _add_addendum(
        session, opportunity, user, f"Q: {question.body}\n\nA: {question.answer}", question=question
    )
    asker = session.get(User, question.asker_user_id) if question.asker_user_id else None
    notifications.notify(
        session,
        [asker] if asker else [],
        "question_answered",
        str(question.id),
        lambda: (
            _("Your question was answered: %(title)s", title=opportunity.title),
            _("The team answered your question publicly as addendum %(n)s.", n=addendum.number),
        ),
        link=links.addenda(opportunity.id),
    )
    return addendum


def publish_addendum(
    session: Session,
    opportunity: Opportunity,
    user: User,
    body: str,
    new_deadline: datetime | None,
) -> Addendum:
    if opportunity.state != OpportunityState.PUBLISHED:
        raise Conflict(_("Addenda can be published while the opportunity is open for proposals."))
    errors = {}
    if not body.strip():
        errors["body"] = _("Describe the change.")
    if new_deadline is not None and new_deadline <= opportunity.proposal_deadline:
        errors["new_deadline"] = _("A new deadline can only extend the current one.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    if new_deadline is not None:
        opportunity.proposal_deadline = new_deadline
    return _add_addendum(session, opportunity, user, body.strip(), new_deadline)


def _tell_the_bidders(session: Session, opportunity: Opportunity, addendum: Addendum) -> None:
    active = proposals_repository.active_with_authors(session, opportunity.id)
    link = links.addenda(opportunity.id)
    notifications.notify(
        session,
        [u for _p, u in active],
        "addendum",
        str(addendum.id),
        lambda: (
            _("Addendum %(n)s to %(title)s", n=addendum.number, title=opportunity.title),
            addendum.body,
        ),
        link=link,
    )
    if addendum.new_deadline is not None:
        submitted = [u for p, u in active if p.state == ProposalState.SUBMITTED]
        notifications.notify(
            session,
            submitted,
            "deadline_extended",
            str(addendum.id),
            lambda: (
                _("Deadline extended: %(title)s", title=opportunity.title),
                _(
                    "The deadline moved. Please review your submitted proposal against "
                    "addendum %(n)s.",
                    n=addendum.number,
                ),
            ),
            link=link,
        )
