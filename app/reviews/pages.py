"""Peer review pages: sending a draft, the reviewers' queue and form, replies, ending a review."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import SIGNED_IN, allow, outside_team, team
from app.deps import AppSettings, CurrentUser, DbSession, FormBody, RowId, form_text, form_values
from app.errors import AppError, NotFound
from app.forms import PostedForm, form_action
from app.models import Opportunity, TeamRole, User
from app.models.review import CHECKLIST, SECTIONS
from app.opportunities import service as opportunities
from app.reviews import labels, service
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)
AUTHORS = team(TeamRole.OWNER, TeamRole.EDITOR, via="opportunity_id")
REVIEWERS = outside_team(via="opportunity_id")


@router.post("/opportunities/{opportunity_id}/peer-review", dependencies=[allow(AUTHORS)])
def send_for_review(
    opportunity_id: RowId, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    logins = form_text(form, "reviewers").replace(",", " ").split()
    return form_action(
        db,
        lambda: service.request_review(db, opportunity, user, logins=logins),
        then=f"/opportunities/{opportunity_id}",
    )


@router.post("/opportunities/{opportunity_id}/peer-review/end", dependencies=[allow(AUTHORS)])
def end_review(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> Response:
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return form_action(
        db,
        lambda: service.end_review(db, opportunity, user),
        then=f"/opportunities/{opportunity_id}",
    )


@router.get("/reviews", response_class=HTMLResponse, dependencies=[allow(SIGNED_IN)])
def review_queue(
    request: Request, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    return render(
        request,
        "reviews/queue.html",
        {
            "drafts": service.queue(db, user, settings),
            "public_servant": service.is_public_servant(db, user, settings),
        },
    )


def _review_page(
    request: Request,
    db: DbSession,
    opportunity: Opportunity,
    user: User,
    settings: AppSettings,
    error: AppError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    if service.may_review(db, opportunity, user, settings) is None:
        raise NotFound()
    return render(
        request,
        "reviews/form.html",
        {
            "o": opportunity,
            "checklist": labels.checklist_labels(),
            "sections": labels.section_labels(),
            "error": error,
            "values": values or {},
            "errors": error.field_errors if error else {},
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/opportunities/{opportunity_id}/review",
    response_class=HTMLResponse,
    dependencies=[allow(REVIEWERS)],
)
def review_form(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> Response:
    return _review_page(
        request, db, opportunities.get_opportunity(db, opportunity_id), user, settings
    )


@router.post(
    "/opportunities/{opportunity_id}/review",
    response_class=HTMLResponse,
    dependencies=[allow(REVIEWERS)],
)
def submit_review(opportunity_id: RowId, posted: PostedForm) -> Response:
    request, db, user, settings, form = posted
    opportunity = opportunities.get_opportunity(db, opportunity_id)
    return form_action(
        db,
        lambda: service.submit_review(
            db,
            opportunity,
            user,
            settings,
            checklist={key: form_text(form, f"check_{key}") == "on" for key in CHECKLIST},
            comments={key: form_text(form, f"comment_{key}") for key in SECTIONS},
        ),
        then="/reviews?notice=thanks",
        again=lambda refusal: _review_page(
            request,
            db,
            opportunities.get_opportunity(db, opportunity_id),
            user,
            settings,
            refusal,
            form_values(form),
        ),
    )


@router.post(
    "/reviews/{review_id}/reply",
    dependencies=[allow(team(TeamRole.OWNER, TeamRole.EDITOR, via="review_id"))],
)
def reply(review_id: RowId, db: DbSession, user: CurrentUser, form: FormBody) -> Response:
    return form_action(
        db,
        lambda: service.reply(
            db,
            review_id,
            user,
            form_text(form, "reply"),
            resolve=form_text(form, "resolve") == "on",
        ),
        then=lambda review: f"/opportunities/{review.opportunity_id}#reviews",
    )
