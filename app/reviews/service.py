"""Peer review rules. A team sends a draft to every verified public servant outside the team,
or to named ones; reviewers comment per section and fill the scoping checklist; the author
replies, resolves and takes the draft back. Every step is audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import Settings
from app.errors import Conflict, NotFound, ValidationFailed
from app.i18n import gettext as _
from app.models import Opportunity, OpportunityState, Review, ReviewRequest, User
from app.models.base import utcnow
from app.models.review import CHECKLIST, SECTIONS
from app.opportunities import service as opportunities
from app.reviews import repository
from app.teams import repository as teams_repository
from app.teams.service import is_government_email


def is_public_servant(session: Session, user: User, settings: Settings) -> bool:
    """Verified: a government email, or a member of an approved team."""
    if is_government_email(user, settings):
        return True
    return any(
        team.approved_at for team, _roles in teams_repository.teams_with_roles(session, user.id)
    )


def request_review(
    session: Session,
    opportunity: Opportunity,
    user: User,
    *,
    logins: list[str],
) -> ReviewRequest:
    named = []
    for login in (x.strip().lstrip("@") for x in logins if x.strip()):
        reviewer = session.scalars(select(User).where(User.login == login)).first()
        if reviewer is None:
            raise ValidationFailed(
                field_errors={
                    "reviewers": _(
                        "Nobody on Dev Exchange has the GitHub login %(login)s.", login=login
                    )
                }
            )
        named.append(reviewer.id)
    opportunities.transition(
        session,
        opportunity,
        OpportunityState.IN_PEER_REVIEW,
        actor=user,
        details={"audience": "named" if named else "all"},
    )
    request = ReviewRequest(
        opportunity_id=opportunity.id,
        requested_by_user_id=user.id,
        audience="named" if named else "all",
        named_user_ids=named,
    )
    session.add(request)
    session.flush()
    return request


def may_review(
    session: Session, opportunity: Opportunity, user: User, settings: Settings
) -> ReviewRequest | None:
    """The open request this person may answer, if any."""
    request = repository.open_request(session, opportunity.id)
    if request is None or teams_repository.roles_of(session, user.id, opportunity.team_id):
        return None
    if request.audience == "named":
        return request if user.id in request.named_user_ids else None
    return request if is_public_servant(session, user, settings) else None


def submit_review(
    session: Session,
    opportunity: Opportunity,
    user: User,
    settings: Settings,
    *,
    checklist: dict[str, bool],
    comments: dict[str, str],
) -> Review:
    request = may_review(session, opportunity, user, settings)
    if request is None:
        raise NotFound()
    if not any(text.strip() for text in comments.values()):
        raise ValidationFailed(
            field_errors={"comment_problem": _("Write at least one comment to help the team.")}
        )
    already = session.scalars(
        select(Review).where(Review.request_id == request.id, Review.reviewer_user_id == user.id)
    ).first()
    if already is not None:
        raise Conflict(_("You have already reviewed this draft."))
    review = Review(
        request_id=request.id,
        opportunity_id=opportunity.id,
        reviewer_user_id=user.id,
        checklist={key: bool(checklist.get(key)) for key in CHECKLIST},
        comments={key: comments.get(key, "").strip()[:4000] for key in SECTIONS},
    )
    session.add(review)
    session.flush()
    audit.record(
        session,
        actor_user_id=user.id,
        action="review.submitted",
        subject_type="opportunity",
        subject_id=opportunity.id,
        details={"review_id": review.id},
    )
    return review


def reply(session: Session, review_id: int, user: User, text: str, *, resolve: bool) -> Review:
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound()
    review.author_reply = text.strip()[:4000]
    if resolve:
        review.resolved_at = review.resolved_at or utcnow()
    audit.record(
        session,
        actor_user_id=user.id,
        action="review.replied",
        subject_type="opportunity",
        subject_id=review.opportunity_id,
        details={"review_id": review.id, "resolved": resolve},
    )
    return review


def end_review(session: Session, opportunity: Opportunity, user: User) -> None:
    """The draft returns to its author; the reviews stay with it."""
    opportunities.transition(
        session, opportunity, OpportunityState.DRAFT, actor=user, details={"peer_review": "ended"}
    )
    request = repository.open_request(session, opportunity.id)
    if request is not None:
        request.closed_at = utcnow()


def queue(session: Session, user: User, settings: Settings) -> list[Opportunity]:
    """Drafts this person may review now."""
    return [
        opportunity
        for _request, opportunity in repository.open_requests(session)
        if may_review(session, opportunity, user, settings) is not None
    ]
