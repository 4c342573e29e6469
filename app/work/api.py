"""JSON routes for the signed-in person's work lists, with the same items as the pages."""

from __future__ import annotations

from fastapi import APIRouter

from app.access import SIGNED_IN, allow
from app.deps import AppSettings, CurrentUser, DbSession
from app.work import service
from app.work.schemas import MyWorkOut, NeedsYouOut, WorkItemOut

router = APIRouter(prefix="/api/v1", tags=["your work"])


@router.get(
    "/me/work",
    response_model=MyWorkOut,
    dependencies=[allow(SIGNED_IN)],
    summary="Your proposals, awards to accept, contracts and payments, and what to do next",
)
def my_work(db: DbSession, user: CurrentUser) -> MyWorkOut:
    return MyWorkOut.of(service.my_work(db, user))


@router.get(
    "/me/needs-you",
    response_model=NeedsYouOut,
    dependencies=[allow(SIGNED_IN)],
    summary="What waits for you as a team member, peer reviewer or administrator",
)
def needs_you(db: DbSession, user: CurrentUser, settings: AppSettings) -> NeedsYouOut:
    items = service.needs_you(db, user, settings)
    return NeedsYouOut(count=len(items), items=[WorkItemOut.of(item) for item in items])
