"""JSON routes: the public addenda of an opportunity, and asking a question."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.access import PUBLIC, allow, outside_team, team
from app.deps import CurrentUser, DbSession, RowId
from app.models import TeamRole
from app.opportunities import service as opportunities
from app.questions import repository, service
from app.questions.schemas import AddendumIn, AddendumOut, AnswerIn, QuestionIn

router = APIRouter(prefix="/api/v1/opportunities", tags=["questions"])


@router.get(
    "/{opportunity_id}/addenda",
    response_model=list[AddendumOut],
    dependencies=[allow(PUBLIC)],
    summary="Numbered addenda, answers included",
)
def addenda(opportunity_id: RowId, db: DbSession) -> list[AddendumOut]:
    opportunity = opportunities.get_public(db, opportunity_id)
    return [AddendumOut.model_validate(a) for a in repository.addenda(db, opportunity.id)]


@router.post(
    "/{opportunity_id}/questions",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[allow(outside_team(via="opportunity_id"))],
    summary="Ask a question; the answer is published as an addendum without your name",
)
def ask(
    opportunity_id: RowId, body: QuestionIn, db: DbSession, user: CurrentUser
) -> dict[str, str]:
    service.ask(db, opportunities.get_public(db, opportunity_id), user, body.question)
    db.commit()
    return {"status": "received"}


AUTHORS = (TeamRole.OWNER, TeamRole.EDITOR)
questions_router = APIRouter(prefix="/api/v1/questions", tags=["questions"])


@questions_router.post(
    "/{question_id}/answer",
    response_model=AddendumOut,
    dependencies=[allow(team(*AUTHORS, via="question_id"))],
    summary="Answer publicly: the answer becomes an addendum",
)
def answer(question_id: RowId, body: AnswerIn, db: DbSession, user: CurrentUser) -> AddendumOut:
    addendum = service.answer(db, question_id, user, body.answer)
    db.commit()
    return AddendumOut.model_validate(addendum)


@router.post(
    "/{opportunity_id}/addenda",
    response_model=AddendumOut,
    dependencies=[allow(team(*AUTHORS, via="opportunity_id"))],
    summary="Publish an addendum; a new deadline may only extend the current one",
)
def publish_addendum(
    opportunity_id: RowId, body: AddendumIn, db: DbSession, user: CurrentUser
) -> AddendumOut:
    addendum = service.publish_addendum(
        db, opportunities.get_public(db, opportunity_id), user, body.body, body.new_deadline
    )
    db.commit()
    return AddendumOut.model_validate(addendum)
