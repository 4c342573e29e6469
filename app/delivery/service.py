"""Delivery rules. The contract is due on its delivery date
(opportunities.repository.contract_delivery_dates); the awardee checks in, and a pull request
of theirs that references the issue counts too. A job warns both sides after the team's number
of quiet days (once per quiet period) and, past the delivery date with no verified merge, moves
the work to missed delivery, where the owner extends it, awards the next-ranked proposal (the
held money follows it) or closes it with a full refund. Nothing here commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app import links
from app.audit import service as audit
from app.config import Settings
from app.delivery import repository
from app.errors import Conflict, NotFound, ValidationFailed
from app.evaluations import service as evaluations
from app.github.webhooks import closed_issues
from app.i18n import gettext as _
from app.models import (
    Award,
    CheckIn,
    CheckInSource,
    Opportunity,
    OpportunityState,
    Proposal,
    Team,
    TeamRole,
    User,
)
from app.models.base import utcnow
from app.notifications import service as notifications
from app.opportunities import repository as opportunities_repository
from app.opportunities import service as opportunities
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.teams import repository as teams_repository
from app.teams.service import require_role

S = OpportunityState
OWNERS = (TeamRole.OWNER,)
MIN_QUIET_DAYS, MAX_QUIET_DAYS = 1, 90
# What a pull request's delivery may say that counts as the awardee's activity.
PULL_ACTIVITY = frozenset({"opened", "ready_for_review", "converted_to_draft", "synchronize"})
CHECK_IN_STATES = frozenset({S.IN_PROGRESS, S.MISSED_DELIVERY})


@dataclass(frozen=True)
class Contract:
    """What the contract page and the API show, for someone allowed to see it."""

    opportunity: Opportunity
    award: Award
    proposal: Proposal
    awardee: User
    delivery_date: date | None
    quiet_days: int
    last_activity_at: datetime | None
    check_ins: Sequence[tuple[CheckIn, User | None]]
    is_awardee: bool
    is_owner: bool

    @property
    def may_check_in(self) -> bool:
        return self.is_awardee and self.opportunity.state in CHECK_IN_STATES

    @property
    def may_extend(self) -> bool:
        return self.is_owner and self.opportunity.state in CHECK_IN_STATES

    @property
    def may_decide(self) -> bool:
        """Award the next-ranked proposal or close with a refund: after a missed delivery."""
        return self.is_owner and self.opportunity.state == S.MISSED_DELIVERY


def _awardee(session: Session, opportunity: Opportunity) -> tuple[Award, Proposal, User]:
    found = payments_repository.awardee_of(session, opportunity.id)
    if found is None:
        raise NotFound()
    award, user = found
    proposal = session.get(Proposal, award.proposal_id)
    assert proposal is not None
    return award, proposal, user


def contract_of(session: Session, opportunity_id: int, viewer: User) -> Contract:
    """The contract, for the team's members and the current awardee; NotFound for anyone else
    (and for work with no award), as for every private page."""
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound()
    award, proposal, awardee = _awardee(session, opportunity)
    roles = teams_repository.roles_of(session, viewer.id, opportunity.team_id)
    if not roles and viewer.id != awardee.id:
        raise NotFound()
    team = session.get(Team, opportunity.team_id)
    assert team is not None
    return Contract(
        opportunity,
        award,
        proposal,
        awardee,
        opportunities_repository.contract_delivery_date(session, opportunity),
        team.quiet_days_warning,
        last_activity(session, opportunity, award),
        repository.check_ins(session, opportunity.id),
        viewer.id == awardee.id,
        TeamRole.OWNER in roles,
    )


def last_activity(session: Session, opportunity: Opportunity, award: Award) -> datetime | None:
    """The latest of: the award accepted, the work (re)started, a check-in on this award."""
    moments = [
        award.accepted_at,
        repository.latest_start_at(session, opportunity.id),
        repository.latest_check_in_at(session, award.id),
    ]
    known = [moment for moment in moments if moment is not None and moment >= award.awarded_at]
    return max(known, default=None)


# --- the awardee's check-ins -------------------------------------------------------------


def check_in(session: Session, opportunity_id: int, user: User, body: str, link: str) -> CheckIn:
    contract = contract_of(session, opportunity_id, user)
    if not contract.is_awardee:
        raise NotFound()
    if not contract.may_check_in:
        raise Conflict(_("Check-ins are for work in progress."))
    errors: dict[str, str] = {}
    if not body.strip():
        errors["body"] = _("Say where the work stands, for example “working on it”.")
    if link.strip() and not opportunities.is_web_address(link.strip()):
        errors["link"] = _("Write the link in full, starting with https:// or http://.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    record = CheckIn(
        opportunity_id=opportunity_id,
        award_id=contract.award.id,
        source=CheckInSource.AWARDEE,
        author_user_id=user.id,
        body=body.strip(),
        link=link.strip(),
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor_user_id=user.id,
        action="delivery.check_in",
        subject_type="opportunity",
        subject_id=opportunity_id,
        details={"check_in_id": record.id},
    )
    return record


_REFERENCE = re.compile(
    r"(?:https?://[^/\s]+/(?P<url_repo>[\w.-]+/[\w.-]+)/issues/|(?P<repo>[\w.-]+/[\w.-]+)?#)"
    r"(?P<number>\d+)\b"
)


def references_issue(body: Any, opportunity: Opportunity) -> bool:
    """Does the pull request's text name the opportunity's issue (#12, owner/repo#12, its
    address, or a closing keyword)?"""
    text = body if isinstance(body, str) else ""
    full_name = opportunity.github_repository_full_name.lower()
    issue = (full_name, opportunity.github_issue_number)
    if issue in closed_issues(text, full_name):
        return True
    return any(
        ((match["url_repo"] or match["repo"] or full_name).lower(), int(match["number"])) == issue
        for match in _REFERENCE.finditer(text)
    )


def record_pull_request(session: Session, payload: dict[str, Any]) -> list[str]:
    """A pull request opened, marked ready or draft, or pushed to: activity on each contract in
    that repository whose issue it references, when its author is the awardee (numeric ids).
    The payload is enough here: it is signed by GitHub and only records activity, never money."""
    pull = payload.get("pull_request") or {}
    repository_id = ((pull.get("base") or {}).get("repo") or {}).get("id")
    author_id = (pull.get("user") or {}).get("id")
    number = pull.get("number")
    outcomes = []
    for opportunity in repository.in_repository(session, repository_id):
        if not references_issue(pull.get("body"), opportunity):
            continue
        award, _proposal, awardee = _awardee(session, opportunity)
        if awardee.github_id != author_id:
            outcomes.append(f"opportunity {opportunity.id}: not the awardee's pull request")
            continue
        session.add(
            CheckIn(
                opportunity_id=opportunity.id,
                award_id=award.id,
                source=CheckInSource.GITHUB,
                body=str(pull.get("title") or "")[:2000],
                link=str(pull.get("html_url") or "")[:500],
                github_pull_request_number=number if isinstance(number, int) else None,
            )
        )
        outcomes.append(f"opportunity {opportunity.id}: pull request #{number} recorded")
    session.flush()
    return outcomes


# --- the job: quiet periods and missed deliveries ------------------------------------------


def _both_sides(session: Session, opportunity: Opportunity, awardee: User) -> list[User]:
    owners = teams_repository.members_with_roles(session, opportunity.team_id, OWNERS)
    return [awardee, *(owner for owner in owners if owner.id != awardee.id)]


def watch(session: Session, opportunity: Opportunity, now: datetime) -> str:
    """One contract in progress: missed when past its delivery date (the whole day, UTC), else
    a warning to both sides once per quiet period."""
    award, _proposal, awardee = _awardee(session, opportunity)
    due = opportunities_repository.contract_delivery_date(session, opportunity)
    title = opportunity.title
    if due is not None and now.date() > due:
        opportunities.transition(
            session,
            opportunity,
            S.MISSED_DELIVERY,
            actor=None,
            details={"delivery_date": due.isoformat(), "award_id": award.id},
        )
        notifications.notify(
            session,
            _both_sides(session, opportunity, awardee),
            "delivery_missed",
            f"{award.id}:{due.isoformat()}",
            lambda: (
                _("Delivery missed: %(title)s", title=title),
                _(
                    "The delivery date (%(date)s) has passed without a merged pull request. "
                    "The team may extend the contract, award the next-ranked proposal, or "
                    "close it with a full refund.",
                    date=due.isoformat(),
                ),
            ),
            link=links.contract(opportunity.id),
        )
        return f"opportunity {opportunity.id}: missed delivery"
    team = session.get(Team, opportunity.team_id)
    assert team is not None
    since = last_activity(session, opportunity, award) or award.awarded_at
    days = team.quiet_days_warning
    if now - since < timedelta(days=days):
        return ""
    warned = notifications.notify(
        session,
        _both_sides(session, opportunity, awardee),
        "delivery_quiet",
        f"{award.id}:{since.isoformat()}",
        lambda: (
            _("No news for %(days)s days: %(title)s", days=days, title=title),
            _(
                "Nothing has happened on this contract for %(days)s days: no check-in and no "
                "pull request. The awardee can post a check-in on the contract page.",
                days=days,
            ),
        ),
        link=links.contract(opportunity.id),
    )
    return f"opportunity {opportunity.id}: quiet, {warned} warned" if warned else ""


# --- the owner's choices -----------------------------------------------------------------


def _owned(session: Session, opportunity_id: int, user: User) -> Contract:
    contract = contract_of(session, opportunity_id, user)
    require_role(session, user, contract.opportunity.team_id, OWNERS)
    return contract


def extend(
    session: Session, opportunity_id: int, user: User, new_date: date | None, reason: str
) -> Contract:
    """A new delivery date, after today (UTC); missed work goes back to in progress."""
    contract = _owned(session, opportunity_id, user)
    if not contract.may_extend:
        raise Conflict(_("Only work in progress or past its delivery date can be extended."))
    if new_date is None or new_date <= utcnow().date():
        raise ValidationFailed(
            field_errors={"delivery_date": _("Choose a delivery date after today.")}
        )
    opportunity = contract.opportunity
    previous = contract.delivery_date
    contract.award.delivery_date = new_date
    details = {
        "from": previous.isoformat() if previous else None,
        "to": new_date.isoformat(),
        "reason": reason.strip(),
    }
    if opportunity.state == S.MISSED_DELIVERY:
        opportunities.transition(session, opportunity, S.IN_PROGRESS, actor=user, details=details)
    else:
        audit.record(
            session,
            actor_user_id=user.id,
            action="award.delivery_extended",
            subject_type="opportunity",
            subject_id=opportunity.id,
            details=details,
        )
    title = opportunity.title
    notifications.notify(
        session,
        [contract.awardee],
        "delivery_extended",
        f"{contract.award.id}:{new_date.isoformat()}",
        lambda: (
            _("New delivery date: %(title)s", title=title),
            _("The team moved the delivery date to %(date)s.", date=new_date.isoformat()),
        ),
        link=links.contract(opportunity.id),
    )
    return contract_of(session, opportunity_id, user)


def award_next(
    session: Session, opportunity_id: int, user: User, reason: str, settings: Settings
) -> Award:
    """Ends the missed contract and awards the next-ranked proposal. The money held stays
    held for the new awardee, for their price (the difference, if cheaper, goes back to the
    team); they accept and the work starts as after any award."""
    contract = _owned(session, opportunity_id, user)
    opportunity = contract.opportunity
    if not contract.may_decide:
        raise Conflict(_("The next-ranked proposal can be awarded only after a missed delivery."))
    if not reason.strip():
        raise ValidationFailed(field_errors={"reason": _("Say why the contract ends.")})
    payout = payments_repository.locked_payout_for(session, opportunity.id)
    if payout is None:
        raise Conflict(_("This work has no payment held."))
    following = evaluations.next_ranked(session, opportunity)
    if following is None:
        raise Conflict(
            _("No other ranked proposal is left: extend the contract or close it with a refund.")
        )
    opportunities.transition(
        session,
        opportunity,
        S.AWARDED,
        actor=user,
        details={"ended_award_id": contract.award.id, "proposal_id": following.proposal.id},
    )
    _ended, record = evaluations.replace_award(
        session, opportunity, user, following.proposal, reason, settings
    )
    payments.move_to_award(session, payout, record.id, settings, actor=user)
    title = opportunity.title
    notifications.notify(
        session,
        [contract.awardee],
        "delivery_ended",
        str(contract.award.id),
        lambda: (
            _("Contract ended: %(title)s", title=title),
            _(
                "The delivery date passed without a merged pull request, and the team "
                "awarded the work to the next-ranked proposal."
            ),
        ),
        link=links.opportunity(opportunity.id),
    )
    return record


def close(session: Session, opportunity_id: int, user: User, reason: str) -> None:
    """Ends the missed contract with a full refund of the money held."""
    contract = _owned(session, opportunity_id, user)
    if not contract.may_decide:
        raise Conflict(_("Only work past its delivery date can be closed here."))
    opportunities.cancel(session, contract.opportunity, actor=user, reason=reason)
    payout = payments_repository.payout_for(session, opportunity_id)
    if payout is not None:
        payments.request_refund(session, payout, actor=user, reason=reason)


def set_quiet_days(session: Session, slug: str, user: User, days: int | None) -> Team:
    team = teams_repository.team_by_slug(session, slug)
    if team is None:
        raise NotFound()
    require_role(session, user, team.id, OWNERS)
    if days is None or not MIN_QUIET_DAYS <= days <= MAX_QUIET_DAYS:
        raise ValidationFailed(
            field_errors={
                "quiet_days_warning": _(
                    "Enter a whole number of days from %(min)s to %(max)s.",
                    min=MIN_QUIET_DAYS,
                    max=MAX_QUIET_DAYS,
                )
            }
        )
    if days != team.quiet_days_warning:
        audit.record(
            session,
            actor_user_id=user.id,
            action="team.quiet_days_changed",
            subject_type="team",
            subject_id=team.id,
            details={"from": team.quiet_days_warning, "to": days},
        )
        team.quiet_days_warning = days
    return team


def team_for_settings(session: Session, slug: str) -> Team:
    team = teams_repository.team_by_slug(session, slug)
    if team is None:
        raise NotFound()
    return team
