"""Each person's work, read across the domains: "My work" (a developer's proposals, awards,
contracts and payments) and "Needs you" (what waits for a team member or an administrator).

Each item names the one page where its action is taken (app.links, shared with the emails that
announce the same thing). Sealed bids: nothing here looks at another person's proposal before
its deadline, and no item names a bidder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from app import links
from app.attention import repository as attention_repository
from app.config import Settings
from app.evaluations.service import awaits_acceptance
from app.i18n import gettext as _
from app.models import (
    Award,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutState,
    Proposal,
    ProposalState,
    Team,
    TeamRole,
    User,
)
from app.models.base import utcnow
from app.payments import repository as payments_repository
from app.reviews.service import is_public_servant
from app.teams import repository as teams_repository
from app.work import repository

S = OpportunityState
# Work that is awarded to someone and not finished: the awardee's contract is alive.
UNDER_CONTRACT = frozenset({S.AWARDED, S.IN_PROGRESS, S.MERGED, S.ON_HOLD, S.MISSED_DELIVERY})


class Kind(StrEnum):
    # a developer's
    ACCEPT_AWARD = "accept_award"
    SET_UP_PAYOUTS = "set_up_payouts"
    FINISH_PROPOSAL = "finish_proposal"
    # a team member's (or a peer reviewer's)
    REVIEW_DRAFT = "review_draft"
    REPLY_TO_REVIEWS = "reply_to_reviews"
    APPROVE_DRAFT = "approve_draft"
    ANSWER_QUESTION = "answer_question"
    DECLARE_CONFLICTS = "declare_conflicts"
    SCORE_PROPOSALS = "score_proposals"
    AWARD = "award"
    REOPEN_OR_CLOSE = "reopen_or_close"
    SIGN_OFF_FUNDING = "sign_off_funding"
    FUND_AWARD = "fund_award"
    WORK_ON_HOLD = "work_on_hold"
    # an administrator's
    APPROVE_TEAM = "approve_team"
    HELD_PAYMENT = "held_payment"
    PAYOUT_PROBLEM = "payout_problem"


def action_label(kind: Kind) -> str:
    """The words of the item's link: what the person does there."""
    labels: dict[Kind, Callable[[], str]] = {
        Kind.ACCEPT_AWARD: lambda: _("Accept the contract"),
        Kind.SET_UP_PAYOUTS: lambda: _("Set up your payout account"),
        Kind.FINISH_PROPOSAL: lambda: _("Finish and submit your proposal"),
        Kind.REVIEW_DRAFT: lambda: _("Review the draft"),
        Kind.REPLY_TO_REVIEWS: lambda: _("Read the peer reviews and reply"),
        Kind.APPROVE_DRAFT: lambda: _("Check the draft, sign it off and publish it"),
        Kind.SIGN_OFF_FUNDING: lambda: _("Sign off the awarded price for funding"),
        Kind.ANSWER_QUESTION: lambda: _("Answer the question"),
        Kind.DECLARE_CONFLICTS: lambda: _("Declare any conflict of interest"),
        Kind.SCORE_PROPOSALS: lambda: _("Score the next proposal"),
        Kind.AWARD: lambda: _("Choose the proposal to award"),
        Kind.REOPEN_OR_CLOSE: lambda: _("Open again or close without award"),
        Kind.FUND_AWARD: lambda: _("Fund this work"),
        Kind.WORK_ON_HOLD: lambda: _("See the work on hold"),
        Kind.APPROVE_TEAM: lambda: _("Approve the team"),
        Kind.HELD_PAYMENT: lambda: _("Release, refund or dismiss the hold"),
        Kind.PAYOUT_PROBLEM: lambda: _("Resolve the payment problem"),
    }
    return labels[kind]()


# Sections of the lists, in the order they are shown: (key, heading, kinds).
SECTIONS: tuple[tuple[str, Callable[[], str], tuple[Kind, ...]], ...] = (
    ("awards-to-accept", lambda: _("Awards to accept"), (Kind.ACCEPT_AWARD,)),
    ("payout-account", lambda: _("Getting paid"), (Kind.SET_UP_PAYOUTS,)),
    ("unsubmitted", lambda: _("Proposals not submitted yet"), (Kind.FINISH_PROPOSAL,)),
    (
        "peer-reviews-to-give",
        lambda: _("Drafts waiting for your peer review"),
        (Kind.REVIEW_DRAFT,),
    ),
    ("peer-reviews-received", lambda: _("Peer reviews to answer"), (Kind.REPLY_TO_REVIEWS,)),
    ("drafts-to-approve", lambda: _("Drafts waiting for approval"), (Kind.APPROVE_DRAFT,)),
    ("questions", lambda: _("Questions to answer"), (Kind.ANSWER_QUESTION,)),
    (
        "evaluations",
        lambda: _("Evaluations to finish"),
        (Kind.DECLARE_CONFLICTS, Kind.SCORE_PROPOSALS),
    ),
    ("awards-to-make", lambda: _("Awards to make"), (Kind.AWARD, Kind.REOPEN_OR_CLOSE)),
    ("awards-to-fund", lambda: _("Awards to fund"), (Kind.SIGN_OFF_FUNDING, Kind.FUND_AWARD)),
    ("on-hold", lambda: _("Work on hold"), (Kind.WORK_ON_HOLD,)),
    ("teams-to-approve", lambda: _("Teams waiting for approval"), (Kind.APPROVE_TEAM,)),
    (
        "payments",
        lambda: _("Payments needing attention"),
        (Kind.HELD_PAYMENT, Kind.PAYOUT_PROBLEM),
    ),
)


@dataclass(frozen=True)
class Item:
    """One thing that waits for the person, and the page where it is done."""

    kind: Kind
    link: str
    title: str  # the opportunity's title (or a team's name) in English
    title_fr: str = ""
    opportunity_id: int | None = None
    due: datetime | None = None  # the time it must be done by, when there is one
    remaining: int | None = None  # proposals left to score
    amount_cents: int | None = None
    currency: str = ""
    note: str = ""  # the question to answer

    @property
    def action(self) -> str:
        return action_label(self.kind)


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    items: list[Item]


def sections_of(items: Sequence[Item]) -> list[Section]:
    """The items grouped under their headings, in the fixed order; empty sections left out."""
    found = []
    for key, heading, kinds in SECTIONS:
        grouped = [item for item in items if item.kind in kinds]
        if grouped:
            found.append(Section(key, heading(), grouped))
    return found


def _about(
    kind: Kind,
    link: str,
    opportunity: Opportunity,
    *,
    due: datetime | None = None,
    remaining: int | None = None,
    amount_cents: int | None = None,
    currency: str = "",
    note: str = "",
) -> Item:
    return Item(
        kind,
        link,
        opportunity.title,
        opportunity.title_fr,
        opportunity.id,
        due,
        remaining,
        amount_cents,
        currency,
        note,
    )


# --- My work --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalSummary:
    proposal: Proposal
    opportunity: Opportunity
    link: str


@dataclass(frozen=True)
class Contract:
    """Work awarded to the person: its state, its acceptance and its payment."""

    opportunity: Opportunity
    award: Award
    payout: Payout | None
    price_cents: int
    currency: str

    @property
    def record_link(self) -> str:
        """The printable payment record, which exists once the money has arrived."""
        paid = self.payout is not None and self.payout.state == PayoutState.PAID
        return links.payment_record(self.opportunity.id) if paid else ""


@dataclass(frozen=True)
class MyWork:
    to_do: list[Item]
    proposals: list[ProposalSummary]
    contracts: list[Contract]
    payouts_enabled: bool

    @property
    def in_progress(self) -> list[Contract]:
        return [c for c in self.contracts if c.opportunity.state in UNDER_CONTRACT]

    @property
    def payments(self) -> list[Contract]:
        return [c for c in self.contracts if c.payout is not None]


def my_work(session: Session, user: User, now: datetime | None = None) -> MyWork:
    now = now or utcnow()
    account = payments_repository.account_of(session, user.id)
    payouts_enabled = bool(account and account.payouts_enabled)
    proposals, contracts, accept, finish = [], [], [], []
    for proposal, opportunity, award, payout in repository.proposals_of(session, user.id):
        proposals.append(
            ProposalSummary(proposal, opportunity, links.your_proposal(opportunity.id))
        )
        if award is not None:
            contracts.append(
                Contract(opportunity, award, payout, proposal.price_cents, proposal.currency)
            )
            if awaits_acceptance(opportunity, award, now):
                accept.append(
                    _about(
                        Kind.ACCEPT_AWARD,
                        links.your_proposal(opportunity.id),
                        opportunity,
                        due=award.accept_by,
                    )
                )
        if _unsubmitted(proposal, opportunity, now):
            finish.append(
                _about(
                    Kind.FINISH_PROPOSAL,
                    links.your_proposal(opportunity.id),
                    opportunity,
                    due=opportunity.proposal_deadline,
                )
            )
    live = [c for c in contracts if _contract_alive(c, now)]
    payouts = []
    if live and not payouts_enabled:
        payouts = [Item(Kind.SET_UP_PAYOUTS, links.PAYOUT_ACCOUNT, "", "")]
    return MyWork(accept + payouts + finish, proposals, contracts, payouts_enabled)


def _unsubmitted(proposal: Proposal, opportunity: Opportunity, now: datetime) -> bool:
    return (
        proposal.state == ProposalState.DRAFT
        and opportunity.state == S.PUBLISHED
        and now < opportunity.proposal_deadline
    )


def _contract_alive(contract: Contract, now: datetime) -> bool:
    """Work that will need paying: accepted (or still acceptable) and not finished."""
    if contract.opportunity.state not in UNDER_CONTRACT:
        return False
    return contract.award.accepted_at is not None or now <= contract.award.accept_by


# --- Needs you ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Teams:
    """The person's teams, as the ids where they hold each role."""

    all: list[tuple[Team, list[TeamRole]]]
    ids: dict[TeamRole, set[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, session: Session, user: User) -> Teams:
        found = teams_repository.teams_with_roles(session, user.id)
        ids = {role: {t.id for t, roles in found if role in roles} for role in TeamRole}
        return cls(found, ids)

    def with_roles(self, *roles: TeamRole) -> set[int]:
        return set().union(*(self.ids[role] for role in roles))


def needs_you(
    session: Session,
    user: User,
    settings: Settings,
    now: datetime | None = None,
    teams: Teams | None = None,
) -> list[Item]:
    now = now or utcnow()
    teams = teams or Teams.of(session, user)
    owners = teams.with_roles(TeamRole.OWNER)
    approvers = teams.with_roles(TeamRole.APPROVER)
    authors = teams.with_roles(TeamRole.OWNER, TeamRole.EDITOR)
    evaluators = teams.with_roles(TeamRole.EVALUATOR)
    finance = teams.with_roles(TeamRole.FINANCE)
    items = _reviews_to_give(session, user, settings, teams)
    if authors:
        items += [
            _about(Kind.REPLY_TO_REVIEWS, links.opportunity(o.id, "reviews"), o)
            for o in repository.drafts_with_unread_reviews(session, authors)
        ]
    if approvers:
        # Publishing is an approver's sign-off, never on a draft they wrote themselves.
        items += [
            _about(Kind.APPROVE_DRAFT, links.opportunity(o.id, "team-actions"), o)
            for o in repository.drafts(session, approvers)
            if o.created_by_user_id != user.id
        ]
    if authors:
        items += [
            _about(Kind.ANSWER_QUESTION, links.opportunity(o.id, f"answer-{q.id}"), o, note=q.body)
            for q, o in repository.unanswered_questions(session, authors)
        ]
    if evaluators:
        items += _evaluations(session, user, evaluators, now)
    if owners:
        items += _decisions(session, owners, now, settings.min_complete_evaluations)
    if approvers or finance:
        # An approver signs off the price first; finance pays once it is signed off.
        for o, price, currency, signed in repository.awards_to_fund(session, approvers | finance):
            if signed and o.team_id in finance:
                kind: Kind | None = Kind.FUND_AWARD
            elif not signed and o.team_id in approvers and o.created_by_user_id != user.id:
                kind = Kind.SIGN_OFF_FUNDING
            else:
                kind = None
            if kind is not None:
                items.append(
                    _about(kind, links.funding(o.id), o, amount_cents=price, currency=currency)
                )
    held = teams.with_roles(TeamRole.OWNER, TeamRole.EDITOR, TeamRole.FINANCE)
    if held:
        items += [
            _about(Kind.WORK_ON_HOLD, links.opportunity(o.id), o)
            for o in repository.on_hold(session, held)
        ]
    if user.is_admin:
        items += _administration(session)
    return items


def _reviews_to_give(session: Session, user: User, settings: Settings, teams: Teams) -> list[Item]:
    own = {team.id for team, _roles in teams.all}
    rows = repository.review_requests_for(session, user.id, own)
    servant = any(r.audience == "all" for r, _o in rows) and is_public_servant(
        session, user, settings
    )
    return [
        _about(Kind.REVIEW_DRAFT, links.peer_review(o.id), o)
        for request, o in rows
        if (user.id in request.named_user_ids if request.audience == "named" else servant)
    ]


def _evaluations(session: Session, user: User, team_ids: set[int], now: datetime) -> list[Item]:
    items = []
    for o, has_conflict, left, first in repository.evaluations_waiting(
        session, user.id, team_ids, now
    ):
        if not left or first is None:
            continue  # nothing left to evaluate (or nothing arrived)
        if has_conflict is None:
            items.append(_about(Kind.DECLARE_CONFLICTS, links.evaluation(o.id), o))
        elif not has_conflict:
            items.append(_about(Kind.SCORE_PROPOSALS, links.score(first), o, remaining=left))
    return items


def _decisions(
    session: Session, team_ids: set[int], now: datetime, min_evaluations: int
) -> list[Item]:
    """Owners decide once every proposal has its evaluations, or when none arrived."""
    items = []
    for o, received, under, short in repository.evaluations_to_decide(
        session, team_ids, now, min_evaluations
    ):
        if not received:
            items.append(_about(Kind.REOPEN_OR_CLOSE, links.evaluation(o.id), o))
        elif under and not short:
            items.append(_about(Kind.AWARD, links.evaluation(o.id), o))
    return items


def _administration(session: Session) -> list[Item]:
    items = [
        Item(Kind.APPROVE_TEAM, links.ADMIN, team.name, team.name_fr)
        for team in teams_repository.pending_teams(session)
    ]
    held = attention_repository.held_opportunities(session)
    items += [_about(Kind.HELD_PAYMENT, links.held_payment(o.id), o) for o in held]
    # A held opportunity's disputed payout is the same case: listed once.
    troubled = [
        p
        for p in attention_repository.payouts_needing_attention(session)
        if p.opportunity_id not in {o.id for o in held}
    ]
    titles = repository.opportunities_by_id(session, {p.opportunity_id for p in troubled})
    items += [
        _about(Kind.PAYOUT_PROBLEM, links.troubled_payout(p.id), titles[p.opportunity_id])
        for p in troubled
    ]
    return items


# --- the navigation's counts ----------------------------------------------------------------


@dataclass(frozen=True)
class NavCounts:
    my_work: int
    needs_you: int
    # Shown to team members and administrators, and to anyone something waits for.
    show_needs_you: bool


def nav_counts(session: Session, user: User, settings: Settings) -> NavCounts:
    """The same lists the pages show, counted: a count never disagrees with its page."""
    teams = Teams.of(session, user)
    waiting = len(needs_you(session, user, settings, teams=teams))
    return NavCounts(
        my_work=len(my_work(session, user).to_do),
        needs_you=waiting,
        show_needs_you=user.is_admin or bool(teams.all) or waiting > 0,
    )
