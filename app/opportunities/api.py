"""JSON routes for opportunities under /api/v1. Same rules as the pages: service.py decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.access import PUBLIC, allow, team
from app.deps import AppSettings, CurrentUser, DbSession, OptionalUser, RowId
from app.errors import ValidationFailed
from app.github.client import GitHubClient
from app.i18n import gettext as _
from app.models import Opportunity, TeamRole
from app.opportunities import repository, service
from app.opportunities.schemas import (
    ListFilters,
    OpportunityIn,
    OpportunityOut,
    OpportunityPage,
)
from app.teams import repository as teams_repository
from app.teams.schemas import SignoffOut

router = APIRouter(prefix="/api/v1", tags=["opportunities"])
APPROVERS = team(TeamRole.APPROVER, via="opportunity_id")


def to_out(listed: repository.Listed, request: Request) -> OpportunityOut:
    opportunity = listed.opportunity
    return OpportunityOut.model_validate(
        {
            **{
                column: getattr(opportunity, column)
                for column in OpportunityOut.model_fields
                if hasattr(opportunity, column)
            },
            "context_links": [line for line in opportunity.context_links.splitlines() if line],
            "skills": listed.skills,
            "contract_delivery_date": listed.contract_delivery_date,
            "team_slug": listed.team_slug,
            "project_slug": listed.project_slug,
            "url": str(request.url_for("opportunity_detail", opportunity_id=opportunity.id)),
        }
    )


def list_page(db: DbSession, filters: ListFilters) -> repository.ListPage:
    try:
        return repository.list_public(db, filters)
    except repository.BadCursor as exc:
        raise ValidationFailed(
            field_errors={"cursor": _("This page link has expired; start from the first page.")}
        ) from exc


@router.get(
    "/opportunities",
    response_model=OpportunityPage,
    summary="List and search public opportunities",
    dependencies=[allow(PUBLIC)],
)
def list_opportunities(
    request: Request, db: DbSession, filters: Annotated[ListFilters, Query()]
) -> OpportunityPage:
    page = list_page(db, filters)
    return OpportunityPage(
        items=[to_out(item, request) for item in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/opportunities/{opportunity_id}", response_model=OpportunityOut, dependencies=[allow(PUBLIC)]
)
def get_opportunity(
    opportunity_id: RowId, request: Request, db: DbSession, user: OptionalUser
) -> OpportunityOut:
    return to_out(service.get_visible(db, opportunity_id, user), request)


def _github(request: Request) -> GitHubClient:
    client: GitHubClient = request.app.state.github
    return client


@router.post(
    "/teams/{slug}/opportunities",
    response_model=OpportunityOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a draft (team owners and editors)",
    dependencies=[allow(team(TeamRole.OWNER, TeamRole.EDITOR, via="slug"))],
)
def create_opportunity(
    slug: str,
    body: OpportunityIn,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> OpportunityOut:
    opportunity, _link_problem = service.create_draft(
        db, slug, body, actor=user, settings=settings, github=_github(request)
    )
    db.commit()
    return to_out(service.get_visible(db, opportunity.id, user), request)


def _author_target(db: DbSession, opportunity_id: int, user: CurrentUser) -> Opportunity:
    return service.get_visible(db, opportunity_id, user).opportunity


@router.post(
    "/opportunities/{opportunity_id}/publish",
    response_model=OpportunityOut,
    summary="Sign off a draft's amount and publish it (team approvers, not its author)",
    dependencies=[allow(APPROVERS)],
)
def publish_opportunity(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, settings: AppSettings
) -> OpportunityOut:
    service.publish(db, _author_target(db, opportunity_id, user), actor=user, settings=settings)
    db.commit()
    return to_out(service.get_visible(db, opportunity_id, user), request)


@router.get(
    "/opportunities/{opportunity_id}/sign-offs",
    response_model=list[SignoffOut],
    summary="Every approver's sign-off on the opportunity: who, when, what amount (its team)",
    dependencies=[allow(team(via="opportunity_id"))],
)
def sign_offs(opportunity_id: RowId, db: DbSession) -> list[SignoffOut]:
    service.get_opportunity(db, opportunity_id)
    return [
        SignoffOut(
            opportunity_id=signoff.opportunity_id,
            award_id=signoff.award_id,
            purpose=signoff.purpose,
            amount_cents=signoff.amount_cents,
            currency=signoff.currency,
            signed_by_github_id=approver.github_id if approver else None,
            signed_at=signoff.signed_at,
        )
        for signoff, approver in teams_repository.signoffs_of(db, opportunity_id)
    ]
