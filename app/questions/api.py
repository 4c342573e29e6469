"""JSON routes: the public addenda of an opportunity, and asking a question."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.access import PUBLIC, allow, outside_team
from app.deps import CurrentUser, DbSession, RowId
from app.opportunities import service as opportunities
from app.questions import repository, service
from app.questions.schemas import AddendumOut, QuestionIn

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
