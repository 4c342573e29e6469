"""JSON routes for peer review, with the same rules as the pages."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from app.access import SIGNED_IN, allow, outside_team, team
from app.deps import AppSettings, CurrentUser, DbSession, RowId
from app.models import TeamRole
from app.models.review import CHECKLIST, SECTIONS
from app.opportunities import service as opportunities
from app.reviews import service

router = APIRouter(prefix="/api/v1", tags=["peer review"])


class ReviewRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewers: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="GitHub logins; empty asks every public servant.",
    )


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checklist: dict[str, bool] = Field(default_factory=dict, description=", ".join(CHECKLIST))
    comments: dict[str, str] = Field(default_factory=dict, description=", ".join(SECTIONS))


class DraftToReview(BaseModel):
    id: int
    title: str


@router.get(
    "/reviews",
    response_model=list[DraftToReview],
    dependencies=[allow(SIGNED_IN)],
    summary="Drafts waiting for your peer review",
)
def queue(db: DbSession, user: CurrentUser, settings: AppSettings) -> list[DraftToReview]:
    return [DraftToReview(id=o.id, title=o.title) for o in service.queue(db, user, settings)]


@router.post(
    "/opportunities/{opportunity_id}/peer-review",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[allow(team(TeamRole.OWNER, TeamRole.EDITOR, via="opportunity_id"))],
    summary="Send a draft for peer review",
)
def request_review(
    opportunity_id: RowId, body: ReviewRequestIn, db: DbSession, user: CurrentUser
) -> None:
    service.request_review(
        db, opportunities.get_opportunity(db, opportunity_id), user, logins=body.reviewers
    )
    db.commit()


@router.post(
    "/opportunities/{opportunity_id}/review",
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(outside_team(via="opportunity_id"))],
    summary="Review a draft you were asked to review",
)
def review(
    opportunity_id: RowId,
    body: ReviewIn,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
) -> dict[str, int]:
    created = service.submit_review(
        db,
        opportunities.get_opportunity(db, opportunity_id),
        user,
        settings,
        checklist=body.checklist,
        comments=body.comments,
    )
    db.commit()
    return {"id": created.id}
