"""Asking and answering questions, and publishing addenda, from the opportunity page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.access import allow, outside_team, team
from app.deps import CurrentUser, DbSession, FormBody, RowId, form_text
from app.forms import PostedForm, form_action
from app.models import TeamRole
from app.opportunities import service as opportunities
from app.questions import service
from app.text import parse_local_datetime

router = APIRouter(tags=["pages"], include_in_schema=False)
AUTHORS = (TeamRole.OWNER, TeamRole.EDITOR)


@router.post(
    "/opportunities/{opportunity_id}/questions",
    dependencies=[allow(outside_team(via="opportunity_id"))],
)
def ask(opportunity_id: RowId, db: DbSession, user: CurrentUser, form: FormBody) -> Response:
    opportunity = opportunities.get_public(db, opportunity_id)
    return form_action(
        db,
        lambda: service.ask(db, opportunity, user, form_text(form, "question")),
        then=f"/opportunities/{opportunity_id}?notice=asked#questions",
    )


@router.post(
    "/questions/{question_id}/answer", dependencies=[allow(team(*AUTHORS, via="question_id"))]
)
def answer(question_id: RowId, db: DbSession, user: CurrentUser, form: FormBody) -> Response:
    return form_action(
        db,
        lambda: service.answer(db, question_id, user, form_text(form, "answer")),
        then=lambda addendum: f"/opportunities/{addendum.opportunity_id}#addenda",
    )


@router.post(
    "/opportunities/{opportunity_id}/addenda",
    dependencies=[allow(team(*AUTHORS, via="opportunity_id"))],
)
def publish_addendum(opportunity_id: RowId, posted: PostedForm) -> Response:
    _request, db, user, settings, form = posted
    opportunity = opportunities.get_public(db, opportunity_id)
    raw_deadline = form_text(form, "new_deadline")
    new_deadline = (
        parse_local_datetime(raw_deadline, settings.zone) if raw_deadline.strip() else None
    )
    return form_action(
        db,
        lambda: service.publish_addendum(
            db, opportunity, user, form_text(form, "body"), new_deadline
        ),
        then=f"/opportunities/{opportunity_id}#addenda",
    )
