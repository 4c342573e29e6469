"""HTML pages for opportunities: the public list and detail, and the team's draft forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, QueryParams

from app.access import PUBLIC, allow, team
from app.config import Settings
from app.deps import (
    AppSettings,
    CurrentUser,
    DbSession,
    FormBody,
    OptionalUser,
    RowId,
    form_text,
    form_values,
)
from app.errors import AppError, ValidationFailed
from app.evaluations import service as evaluations
from app.github import service as github_service
from app.github.client import GitHubClient
from app.i18n import gettext as _
from app.models import Award, Opportunity, OpportunityState, TeamRole, User
from app.models.base import utcnow
from app.opportunities import repository, service
from app.opportunities.schemas import PUBLIC_STATES, ListFilters, Sort
from app.payments import repository as payments_repository
from app.questions import repository as questions
from app.reviews import repository as reviews
from app.reviews import service as review_service
from app.teams import repository as teams_repository
from app.teams import service as teams_service
from app.templating import render
from app.text import parse_date, parse_local_datetime, parse_money_to_cents

router = APIRouter(tags=["pages"], include_in_schema=False)
AUTHORS = team(TeamRole.OWNER, TeamRole.EDITOR, via="opportunity_id")
APPROVERS = team(TeamRole.OWNER, via="opportunity_id")

NOTICES = {
    "created": lambda: _("Draft saved."),
    "saved": lambda: _("Changes saved."),
    "published": lambda: _("The opportunity is published and open for proposals."),
    "cancelled": lambda: _("The opportunity is cancelled."),
    "asked": lambda: _("Your question was sent to the team. The answer will be published here."),
    "merged": lambda: _("The merge is recorded; the payment is on its way."),
}


def _filters_from_query(params: QueryParams) -> tuple[ListFilters, list[str]]:
    """The list page's query string, forgiving: a bad value is reported and ignored."""
    problems: list[str] = []
    amounts: dict[str, int | None] = {}
    for name in ("amount_min", "amount_max"):
        raw = params.get(name, "").strip()
        amounts[name] = parse_money_to_cents(raw) if raw else None
        if raw and amounts[name] is None:
            problems.append(_("“%(value)s” is not an amount; it was ignored.", value=raw))
    sort = params.get("sort", Sort.NEWEST.value)
    filters = ListFilters(
        q=params.get("q", "")[:200],
        state=[s for s in params.getlist("state") if s in PUBLIC_STATES],
        skill=params.get("skill", "")[:50],
        team=params.get("team", "")[:80],
        amount_min_cents=amounts["amount_min"],
        amount_max_cents=amounts["amount_max"],
        sort=Sort(sort) if sort in {s.value for s in Sort} else Sort.NEWEST,
        cursor=params.get("cursor", "")[:200],
    )
    return filters, problems


@router.get(
    "/opportunities",
    response_class=HTMLResponse,
    name="opportunity_list",
    dependencies=[allow(PUBLIC)],
)
def opportunity_list(request: Request, db: DbSession) -> Response:
    filters, problems = _filters_from_query(request.query_params)
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
            "states": [(s, service.state_label(s)) for s in PUBLIC_STATES],
            "sorts": _sort_labels(),
            "teams": teams_repository.list_teams(db),
            "skills": repository.public_skills(db),
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
            "state_label": service.state_label(opportunity.state),
            "can_edit": bool(roles & set(teams_service.AUTHOR_ROLES))
            and opportunity.state in service.EDITABLE_STATES,
            "can_approve": bool(roles & set(teams_service.APPROVER_ROLES)),
            "can_publish": OpportunityState.PUBLISHED
            in service.ALLOWED_TRANSITIONS[OpportunityState(opportunity.state)],
            "can_cancel": OpportunityState.CANCELLED
            in service.ALLOWED_TRANSITIONS[OpportunityState(opportunity.state)],
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
            "connection": github_service.connection_status(db, opportunity, settings)
            if roles and opportunity.state not in service.CLOSED_STATES
            else None,
            "writing_hints": service.writing_hints(opportunity, settings)
            if roles & set(teams_service.AUTHOR_ROLES) and opportunity.published_at is None
            else [],
            "reviews": reviews.reviews_of(db, opportunity.id) if roles else [],
            "reviewer_count": reviews.reviewer_count(db, opportunity.id),
            "review_labels": review_service.checklist_labels(),
            "section_labels": review_service.section_labels(),
            "is_author": bool(roles & set(teams_service.AUTHOR_ROLES)),
            "is_finance": "finance" in roles,
            "can_simulate_merge": settings.merge_simulation_enabled
            and settings.payments_simulated
            and opportunity.state == OpportunityState.IN_PROGRESS
            and bool(roles & set(teams_service.AUTHOR_ROLES)),
            "can_evaluate": bool(roles & {"owner", "evaluator"})
            and opportunity.published_at is not None,
        },
        status_code=error.status_code if error else 200,
    )


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


def draft_from_form(form: FormData, team_slug: str, settings: Settings) -> service.DraftInput:
    return service.DraftInput(
        team_slug=team_slug,
        project_slug=form_text(form, "project"),
        title=form_text(form, "title"),
        title_fr=form_text(form, "title_fr"),
        problem_statement=form_text(form, "problem_statement"),
        problem_statement_fr=form_text(form, "problem_statement_fr"),
        context_links=form_text(form, "context_links").splitlines(),
        acceptance_criteria=form_text(form, "acceptance_criteria"),
        acceptance_criteria_fr=form_text(form, "acceptance_criteria_fr"),
        skills=form_text(form, "skills").split(","),
        remote=form_text(form, "remote") == "on",
        location=form_text(form, "location"),
        amount_cents=parse_money_to_cents(form_text(form, "amount")),
        proposal_deadline=parse_local_datetime(form_text(form, "proposal_deadline"), settings.zone),
        delivery_date=parse_date(form_text(form, "delivery_date")),
        github_issue_url=form_text(form, "github_issue_url"),
        require_passing_checks=form_text(form, "require_passing_checks") == "on",
        license_spdx=form_text(form, "license_spdx"),
    )


def _form_values(opportunity: Opportunity, skills: list[str], settings: Settings) -> dict[str, Any]:
    deadline = opportunity.proposal_deadline.astimezone(settings.zone).strftime("%Y-%m-%dT%H:%M")
    return {
        "title": opportunity.title,
        "title_fr": opportunity.title_fr,
        "problem_statement": opportunity.problem_statement,
        "problem_statement_fr": opportunity.problem_statement_fr,
        "context_links": opportunity.context_links,
        "acceptance_criteria": opportunity.acceptance_criteria,
        "acceptance_criteria_fr": opportunity.acceptance_criteria_fr,
        "skills": ", ".join(skills),
        "remote": "on" if opportunity.remote else "",
        "location": opportunity.location,
        "amount": f"{opportunity.amount_cents / 100:.2f}",
        "proposal_deadline": deadline,
        "delivery_date": opportunity.delivery_date.isoformat() if opportunity.delivery_date else "",
        "github_issue_url": opportunity.github_issue_url,
        "require_passing_checks": "on" if opportunity.require_passing_checks else "",
        "license_spdx": opportunity.license_spdx,
        "project": "",
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
def create_draft(
    slug: str,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    form: FormBody,
) -> Response:
    team = teams_service.get_team(db, slug)
    data = draft_from_form(form, slug, settings)
    try:
        opportunity, _problem = service.create_draft(
            db, data, actor=user, settings=settings, github=_github(request)
        )
    except ValidationFailed as exc:
        db.rollback()
        return _render_form(
            request,
            db,
            team.id,
            form_values(form),
            action=request.url.path,
            heading=_("New opportunity for %(team)s", team=team.name),
            errors=exc.field_errors,
        )
    db.commit()
    return RedirectResponse(f"/opportunities/{opportunity.id}?notice=created", status_code=303)


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
    values = _form_values(listed.opportunity, listed.skills, settings)
    values["project"] = listed.project_slug or ""
    return _render_form(
        request,
        db,
        listed.opportunity.team_id,
        values,
        action=request.url.path,
        heading=_("Edit draft"),
    )


@router.post(
    "/opportunities/{opportunity_id}/edit",
    response_class=HTMLResponse,
    dependencies=[allow(AUTHORS)],
)
def update_draft(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    form: FormBody,
) -> Response:
    listed = service.get_visible(db, opportunity_id, user)
    data = draft_from_form(form, listed.team_slug, settings)
    try:
        service.update_draft(
            db, listed.opportunity, data, actor=user, settings=settings, github=_github(request)
        )
    except ValidationFailed as exc:
        db.rollback()
        return _render_form(
            request,
            db,
            listed.opportunity.team_id,
            form_values(form),
            action=request.url.path,
            heading=_("Edit draft"),
            errors=exc.field_errors,
        )
    db.commit()
    return RedirectResponse(f"/opportunities/{opportunity_id}?notice=saved", status_code=303)


@router.post(
    "/opportunities/{opportunity_id}/publish",
    response_class=HTMLResponse,
    dependencies=[allow(APPROVERS)],
)
def publish(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, settings: AppSettings
) -> Response:
    opportunity = service.get_visible(db, opportunity_id, user).opportunity
    try:
        service.publish(db, opportunity, actor=user, settings=settings)
    except AppError as exc:
        db.rollback()
        return detail_page(request, db, settings, user, opportunity_id, error=exc)
    db.commit()
    return RedirectResponse(f"/opportunities/{opportunity_id}?notice=published", status_code=303)
