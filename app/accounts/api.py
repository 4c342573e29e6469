"""JSON routes for the signed-in person's own account."""

from __future__ import annotations

from fastapi import APIRouter

from app.access import SIGNED_IN, allow
from app.accounts.schemas import MeOut, TeamRoleOut
from app.deps import CurrentUser, DbSession
from app.teams import service as teams_service

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get(
    "/me",
    response_model=MeOut,
    dependencies=[allow(SIGNED_IN)],
    summary="Your own account, private fields included",
)
def me(db: DbSession, user: CurrentUser) -> MeOut:
    teams = [
        TeamRoleOut(team=team.slug, roles=roles) for team, roles in teams_service.teams_of(db, user)
    ]
    fields = {name: getattr(user, name) for name in MeOut.model_fields if name != "teams"}
    return MeOut.model_validate({**fields, "teams": teams})
