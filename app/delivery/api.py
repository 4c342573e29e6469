"""The contract's delivery in JSON, with the pages' permissions."""

from __future__ import annotations

from fastapi import APIRouter

from app.access import SIGNED_IN, allow, outside_team, team
from app.delivery import schemas, service
from app.deps import AppSettings, CurrentUser, DbSession, RowId
from app.models import TeamRole

router = APIRouter(prefix="/api/v1", tags=["delivery"])
OWNERS = team(TeamRole.OWNER, via="opportunity_id")


def contract_out(contract: service.Contract) -> schemas.ContractOut:
    return schemas.ContractOut(
        opportunity_id=contract.opportunity.id,
        state=contract.opportunity.state,
        awardee_login=contract.awardee.login,
        price_cents=contract.proposal.price_cents,
        currency=contract.proposal.currency,
        delivery_date=contract.delivery_date,
        quiet_days_warning=contract.quiet_days,
        last_activity_at=contract.last_activity_at,
        check_ins=[
            schemas.CheckInOut(
                source=record.source,
                author_login=author.login if author else "",
                body=record.body,
                link=record.link,
                github_pull_request_number=record.github_pull_request_number,
                created_at=record.created_at,
            )
            for record, author in contract.check_ins
        ],
    )


@router.get(
    "/opportunities/{opportunity_id}/delivery",
    response_model=schemas.ContractOut,
    dependencies=[allow(SIGNED_IN)],
    summary="The contract's delivery date and check-ins (the team and the awardee)",
)
def get_contract(opportunity_id: RowId, db: DbSession, user: CurrentUser) -> schemas.ContractOut:
    return contract_out(service.contract_of(db, opportunity_id, user))


@router.post(
    "/opportunities/{opportunity_id}/delivery/check-ins",
    response_model=schemas.ContractOut,
    status_code=201,
    dependencies=[allow(outside_team(via="opportunity_id"))],
    summary="The awardee checks in on work in progress",
)
def post_check_in(
    opportunity_id: RowId, db: DbSession, user: CurrentUser, body: schemas.CheckInIn
) -> schemas.ContractOut:
    service.check_in(db, opportunity_id, user, body.body, body.link)
    db.commit()
    return contract_out(service.contract_of(db, opportunity_id, user))


@router.post(
    "/opportunities/{opportunity_id}/delivery/extend",
    response_model=schemas.ContractOut,
    dependencies=[allow(OWNERS)],
    summary="A new delivery date; missed work goes back to in progress (team owners)",
)
def extend(
    opportunity_id: RowId, db: DbSession, user: CurrentUser, body: schemas.ExtendIn
) -> schemas.ContractOut:
    contract = service.extend(db, opportunity_id, user, body.delivery_date, body.reason)
    db.commit()
    return contract_out(contract)


@router.post(
    "/opportunities/{opportunity_id}/delivery/award-next",
    response_model=schemas.ContractOut,
    dependencies=[allow(OWNERS)],
    summary="End a missed contract and award the next-ranked proposal (team owners)",
)
def award_next(
    opportunity_id: RowId,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    body: schemas.ReasonIn,
) -> schemas.ContractOut:
    service.award_next(db, opportunity_id, user, body.reason, settings)
    db.commit()
    return contract_out(service.contract_of(db, opportunity_id, user))


@router.post(
    "/opportunities/{opportunity_id}/delivery/close",
    status_code=204,
    dependencies=[allow(OWNERS)],
    summary="Close a missed contract with a full refund (team owners)",
)
def close(opportunity_id: RowId, db: DbSession, user: CurrentUser, body: schemas.ReasonIn) -> None:
    service.close(db, opportunity_id, user, body.reason)
    db.commit()


@router.get(
    "/teams/{slug}/delivery-settings",
    response_model=schemas.QuietDaysOut,
    dependencies=[allow(team(TeamRole.OWNER, via="slug"))],
    summary="Days without activity before both sides are warned (team owners)",
)
def get_settings(slug: str, db: DbSession) -> schemas.QuietDaysOut:
    found = service.team_for_settings(db, slug)
    return schemas.QuietDaysOut(team=found.slug, quiet_days_warning=found.quiet_days_warning)


@router.put(
    "/teams/{slug}/delivery-settings",
    response_model=schemas.QuietDaysOut,
    dependencies=[allow(team(TeamRole.OWNER, via="slug"))],
    summary="Set the days without activity before both sides are warned (team owners)",
)
def put_settings(
    slug: str, db: DbSession, user: CurrentUser, body: schemas.QuietDaysIn
) -> schemas.QuietDaysOut:
    found = service.set_quiet_days(db, slug, user, body.quiet_days_warning)
    db.commit()
    return schemas.QuietDaysOut(team=found.slug, quiet_days_warning=found.quiet_days_warning)
