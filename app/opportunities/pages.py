"""HTML pages for opportunities: the public list and detail, and the team's draft forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from app.access import PUBLIC, allow, team
from app.config import Settings
from app.deps import (
    AppSettings,
    CurrentUser,
    DbSession,
    OptionalUser,
    RowId,
    form_values,
)
from app.errors import AppError
from app.evaluations import service as evaluations
from app.forms import PostedForm, form_action, on_field_errors, read_form
from app.github import service as github_service
from app.github.client import GitHubClient
from app.i18n import gettext as _
from app.models import Award, Opportunity, OpportunityState, TeamRole, User
from app.models.base import utcnow
from app.opportunities import labels, repository, service
from app.opportunities.feed import feed_url
from app.opportunities.schemas import (
    PUBLIC_STATES,
    DraftForm,
    DraftIn,
    Sort,
    filters_from_query,
)
from app.payments import repository as payments_repository
from app.questions import repository as questions
from app.reviews import labels as review_labels
from app.reviews import repository as reviews
from app.teams import repository as teams_repository
from app.teams import service as teams_service
from app.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)
AUTHORS = team(TeamRole.OWNER, TeamRole.EDITOR, via="opportunity_id")
APPROVERS = team(TeamRole.APPROVER, via="opportunity_id")

NOTICES = {
    "created": lambda: _("Draft saved."),
    "saved": lambda: _("Changes saved."),
    "published": lambda: _("The opportunity is published and open for proposals."),
    "cancelled": lambda: _("The opportunity is cancelled."),
    "asked": lambda: _("Your question was sent to the team. The answer will be published here."),
    "merged": lambda: _("The merge is recorded; the payment is on its way."),
}


@router.get(
    "/opportunities",
    response_class=HTMLResponse,
    name="opportunity_list",
    dependencies=[allow(PUBLIC)],
)
def opportunity_list(request: Request, db: DbSession) -> Response:
    filters, problems = filters_from_query(request.query_params)
    try:
        page = repository.list_public(db, filters)
    except repository.BadCursor:
        problems.append(_("This page link has expired; showing the first page."))
        page = repository.list_public(db, filters.model_copy(update={"cursor": ""}))
    return render(
        request,
        "opportunities/list.html",
        {
            "page": page,
            "filters": filters,
            "problems": problems,
            "states": [(s, labels.state_label(s)) for s in PUBLIC_STATES],
            "sorts": _sort_labels(),
            "teams": teams_repository.list_teams(db),
            "skills": repository.public_skills(db),
            "feed_url": feed_url(request.query_params),
        },
    )


def _sort_labels() -> list[tuple[str, str]]:
    return [
        (Sort.NEWEST.value, _("Newest first")),
        (Sort.DEADLINE.value, _("Deadline soonest")),
        (Sort.AMOUNT_HIGH.value, _("Amount, highest first")),
        (Sort.AMOUNT_LOW.value, _("Amount, lowest first")),
    ]


def detail_page(
    request: Request,
    db: DbSession,
    settings: Settings,
    user: User | None,
    opportunity_id: int,
    *,
    error: AppError | None = None,
) -> Response:
    listed = service.get_visible(db, opportunity_id, user)
    opportunity = listed.opportunity
    roles = teams_repository.roles_of(db, user.id, opportunity.team_id) if user else set()
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return render(
        request,
        "opportunities/detail.html",
        {
            "item": listed,
            "o": opportunity,
            "state_label": labels.state_label(opportunity.state),
            "can_edit": bool(roles & set(teams_service.AUTHOR_ROLES))
            and opportunity.state in service.EDITABLE_STATES,
            "can_cancel_as_owner": bool(roles & set(teams_service.OWNER_ROLES)),
            "can_sign_off": TeamRole.APPROVER in roles,
            "is_creator": user is not None and user.id == opportunity.created_by_user_id,
            "signoff_limit": teams_repository.approver_limit(db, user.id, opportunity.team_id)
            if user and TeamRole.APPROVER in roles
            else None,
            "signoffs": teams_repository.signoffs_of(db, opportunity.id) if roles else [],
            "can_publish": opportunity.state == OpportunityState.DRAFT,
            "can_cancel": OpportunityState.CANCELLED
            in service.ALLOWED_TRANSITIONS[opportunity.state],
            "publication_problems": service.publication_problems(
                db, opportunity, settings, utcnow()
            )
            if opportunity.state == OpportunityState.DRAFT
            else [],
            "context_links": [line for line in opportunity.context_links.splitlines() if line],
            "notice": notice() if notice else None,
            "error": error,
            "open_for_proposals": opportunity.state == OpportunityState.PUBLISHED,
            "award_notice": evaluations.public_notice(db, opportunity),
            "award_to_accept": _award_to_accept(db, opportunity, user),
            "addenda": questions.addenda(db, opportunity.id),
            "unanswered": questions.unanswered(db, opportunity.id)
            if roles & set(teams_service.AUTHOR_ROLES)
            else [],
            "is_member": bool(roles),
            # A peer reviewer of the draft may not propose (issue 16): said before they try.
            "reviewed_by_you": user is not None
            and reviews.first_review_by(db, opportunity.id, user.id) is not None,
            "connection": github_service.connection_status(db, opportunity, settings)
            if roles and opportunity.state not in service.CLOSED_STATES
            else None,
            "writing_hints": service.writing_hints(opportunity, settings)
            if roles & set(teams_service.AUTHOR_ROLES) and opportunity.published_at is None
            else [],
            "reviews": reviews.reviews_of(db, opportunity.id) if roles else [],
            "reviewer_count": reviews.reviewer_count(db, opportunity.id),
            "review_labels": review_labels.checklist_labels(),
            "section_labels": review_labels.section_labels(),
            "is_author": bool(roles & set(teams_service.AUTHOR_ROLES)),
            "is_finance": TeamRole.FINANCE in roles,
            # The team's side of a contract, who may open a claim about delivery.
            "on_claim_side": bool(roles & {TeamRole.OWNER, TeamRole.FINANCE}),
            "can_simulate_merge": settings.merge_simulation_enabled
            and settings.payments_simulated
            and opportunity.state == OpportunityState.IN_PROGRESS
            and bool(roles & set(teams_service.AUTHOR_ROLES)),
            "can_evaluate": bool(roles & {TeamRole.OWNER, TeamRole.EVALUATOR})
            and opportunity.published_at is not None,
            "contract_delivery_date": repository.contract_delivery_date(db, opportunity),
            "may_see_delivery": _may_see_delivery(db, opportunity, user, bool(roles)),
        },
        status_code=error.status_code if error else 200,
    )


def _may_see_delivery(
    db: DbSession, opportunity: Opportunity, user: User | None, member: bool
) -> bool:
    """The contract's delivery page is for the team and the current awardee."""
    found = payments_repository.awardee_of(db, opportunity.id)
    return found is not None and user is not None and (member or found[1].id == user.id)


def _award_to_accept(db: DbSession, opportunity: Opportunity, user: User | None) -> Award | None:
    """The award the reader won and may still accept: the notice offers them the contract."""
    if user is None or opportunity.state != OpportunityState.AWARDED:
        return None
    found = payments_repository.awardee_of(db, opportunity.id)
    if found is None or found[1].id != user.id:
        return None
    award = found[0]
    return award if evaluations.awaits_acceptance(opportunity, award, utcnow()) else None


@router.get(
    "/opportunities/{opportunity_id}",
    response_class=HTMLResponse,
    name="opportunity_detail",
    dependencies=[allow(PUBLIC)],
)
def opportunity_detail(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    user: OptionalUser,
) -> Response:
    return detail_page(request, db, settings, user, opportunity_id)


# --- Team side: drafts -------------------------------------------------------------------------


def _form_values(listed: repository.Listed, settings: Settings) -> dict[str, Any]:
    """The draft as its form shows it: the text `DraftForm` reads back."""
    opportunity = listed.opportunity
    text = {
        name: value
        for name in DraftIn.model_fields
        if isinstance(value := getattr(opportunity, name, None), str)
    }
    deadline = opportunity.proposal_deadline.astimezone(settings.zone).strftime("%Y-%m-%dT%H:%M")
    return {
        **text,
        "project": listed.project_slug or "",
        "skills": ", ".join(listed.skills),
        "remote": "on" if opportunity.remote else "",
        "amount": f"{opportunity.amount_cents / 100:.2f}",
        "proposal_deadline": deadline,
        "delivery_date": opportunity.delivery_date.isoformat() if opportunity.delivery_date else "",
        "require_passing_checks": "on" if opportunity.require_passing_checks else "",
    }


def _render_form(
    request: Request,
    db: DbSession,
    team_id: int,
    values: dict[str, Any],
    *,
    action: str,
    heading: str,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "opportunities/form.html",
        {
            "values": values,
            "errors": errors or {},
            "action": action,
            "heading": heading,
            "projects": teams_repository.projects_of(db, team_id),
        },
        status_code=422 if errors else 200,
    )


def _form_again(
    request: Request, db: DbSession, team_id: int, form: FormData, heading: str
) -> Callable[[AppError], Response]:
    """The draft form once more, with what was typed and why it was refused."""
    return on_field_errors(
        lambda errors: _render_form(
            request,
            db,
            team_id,
            form_values(form),
            action=request.url.path,
            heading=heading,
            errors=errors,
        )
    )


def _github(request: Request) -> GitHubClient:
    client: GitHubClient = request.app.state.github
    return client


@router.get(
    "/teams/{slug}/opportunities/new",
    response_class=HTMLResponse,
    name="opportunity_new",
    dependencies=[allow(team(TeamRole.OWNER, TeamRole.EDITOR, via="slug"))],
)
def new_draft_form(slug: str, request: Request, db: DbSession, user: CurrentUser) -> Response:
    team = teams_service.get_team(db, slug)
    teams_service.require_role(db, user, team.id, teams_service.AUTHOR_ROLES)
    values = {"remote": "on", "license_spdx": team.default_licence}
    return _render_form(
        request,
        db,
        team.id,
        values,
        action=request.url.path,
        heading=_("New opportunity for %(team)s", team=team.name),
    )


@router.post(
    "/teams/{slug}/opportunities/new",
    response_class=HTMLResponse,
    dependencies=[allow(team(TeamRole.OWNER, TeamRole.EDITOR, via="slug"))],
)
def create_draft(slug: str, posted: PostedForm) -> Response:
    request, db, user, settings, form = posted
    team = teams_service.get_team(db, slug)

    def create() -> Opportunity:
        data = read_form(DraftForm, form, zone=settings.zone)
        opportunity, _problem = service.create_draft(
            db, slug, data, actor=user, settings=settings, github=_github(request)
        )
        return opportunity

    return form_action(
        db,
        create,
        then=lambda opportunity: f"/opportunities/{opportunity.id}?notice=created",
        again=_form_again(
            request, db, team.id, form, _("New opportunity for %(team)s", team=team.name)
        ),
    )


@router.get(
    "/opportunities/{opportunity_id}/edit",
    response_class=HTMLResponse,
    dependencies=[allow(AUTHORS)],
)
def edit_draft_form(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    listed = service.get_visible(db, opportunity_id, user)
    service.require_author(db, listed.opportunity, user)
    return _render_form(
        request,
        db,
        listed.opportunity.team_id,
        _form_values(listed, settings),
        action=request.url.path,
        heading=_("Edit draft"),
    )


@router.post(
    "/opportunities/{opportunity_id}/edit",
    response_class=HTMLResponse,
    dependencies=[allow(AUTHORS)],
)
def update_draft(opportunity_id: RowId, posted: PostedForm) -> Response:
    request, db, user, settings, form = posted
    opportunity = service.get_visible(db, opportunity_id, user).opportunity
    return form_action(
        db,
        lambda: service.update_draft(
            db,
            opportunity,
            read_form(DraftForm, form, zone=settings.zone),
            actor=user,
            settings=settings,
            github=_github(request),
        ),
        then=f"/opportunities/{opportunity_id}?notice=saved",
        again=_form_again(request, db, opportunity.team_id, form, _("Edit draft")),
    )


@router.post(
    "/opportunities/{opportunity_id}/publish",
    response_class=HTMLResponse,
    dependencies=[allow(APPROVERS)],
)
def publish(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    opportunity = service.get_visible(db, opportunity_id, user).opportunity
    return form_action(
        db,
        lambda: service.publish(db, opportunity, actor=user, settings=settings),
        then=f"/opportunities/{opportunity_id}?notice=published",
        again=lambda refusal: detail_page(
            request, db, settings, user, opportunity_id, error=refusal
        ),
    )
