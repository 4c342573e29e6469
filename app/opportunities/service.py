"""Opportunity rules: the lifecycle, what a draft needs, who may see and change it.

Every state change goes through ``transition``: a compare-and-set UPDATE guarded by the
lifecycle table, plus exactly one audit event. Nothing here commits; the caller does, once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from app import licences, links
from app.audit import service as audit
from app.config import Settings
from app.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.github.client import GitHubClient
from app.github.service import (
    IssueLinkError,
    parse_issue_url,
    require_installed_for_team,
    verify_issue,
)
from app.i18n import gettext as _
from app.lifecycle import guarded_transition
from app.models import (
    Opportunity,
    OpportunityState,
    Project,
    SignoffPurpose,
    Team,
    TeamRole,
    User,
)
from app.models.base import utcnow
from app.notifications import service as notifications
from app.opportunities import repository
from app.opportunities.labels import state_label
from app.opportunities.schemas import MAX_CONTEXT_LINKS, DraftIn
from app.proposals import service as proposals
from app.reviews import repository as reviews_repository
from app.teams import repository as teams_repository
from app.teams import service as teams
from app.teams.service import AUTHOR_ROLES, OWNER_ROLES, require_role
from app.text import format_money

S = OpportunityState
ALLOWED_TRANSITIONS: Mapping[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.IN_PEER_REVIEW, S.PUBLISHED, S.CANCELLED}),
    S.IN_PEER_REVIEW: frozenset({S.DRAFT, S.CANCELLED}),
    # evaluating → published re-opens with a new deadline when nobody proposed.
    S.PUBLISHED: frozenset({S.EVALUATING, S.CANCELLED}),
    S.EVALUATING: frozenset({S.AWARDED, S.PUBLISHED, S.UNSUCCESSFUL, S.CANCELLED}),
    S.AWARDED: frozenset({S.IN_PROGRESS, S.CANCELLED, S.ON_HOLD}),
    S.IN_PROGRESS: frozenset({S.MERGED, S.CANCELLED, S.ON_HOLD, S.MISSED_DELIVERY}),
    # Past the delivery date without a merge: the owner extends (back to in progress), awards
    # the next-ranked proposal (awarded again, the money still held) or closes with a refund;
    # a questioned payment holds it like any funded work.
    S.MISSED_DELIVERY: frozenset({S.IN_PROGRESS, S.AWARDED, S.CANCELLED, S.ON_HOLD}),
    S.MERGED: frozenset({S.PAID, S.ON_HOLD}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.MERGED, S.CANCELLED}),
    S.PAID: frozenset(),
    S.CANCELLED: frozenset(),
    S.UNSUCCESSFUL: frozenset(),
}
EDITABLE_STATES = frozenset({S.DRAFT})
# Nothing can happen to these any more (no transition leaves them).
CLOSED_STATES = frozenset(state for state, targets in ALLOWED_TRANSITIONS.items() if not targets)
MAX_SKILLS = 15
_SKILL = re.compile(r"^[\w+#.\- ]{1,50}$", re.UNICODE)


def transition(
    session: Session,
    opportunity: Opportunity,
    to_state: S,
    *,
    actor: User | None,
    details: dict[str, Any] | None = None,
) -> None:
    now = utcnow()
    extra: dict[str, Any] = {"updated_at": now}
    if to_state is S.PUBLISHED and opportunity.published_at is None:
        extra["published_at"] = now
    refused = _(
        "An opportunity that is %(current)s cannot become %(target)s.",
        current=state_label(opportunity.state),
        target=state_label(to_state),
    )
    guarded_transition(
        session,
        opportunity,
        to_state,
        ALLOWED_TRANSITIONS,
        actor_user_id=actor.id if actor else None,
        subject_type="opportunity",
        refused=refused,
        extra_values=extra,
        details=details,
    )


def normalise_skills(raw: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for skill in raw:
        cleaned = " ".join(skill.split()).lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def is_web_address(link: str) -> bool:
    """An absolute http(s) address with a host: the only kind of link a page may carry. Any
    other scheme (javascript:, data:, vbscript:) runs or forges content when someone clicks it."""
    if any(char.isspace() or not char.isprintable() for char in link):
        return False
    try:
        parts = urlsplit(link)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def context_links_problem(links: list[str]) -> str | None:
    """Why the context links cannot be saved, if they cannot: one rule for the form and the API."""
    cleaned = [link.strip() for link in links if link.strip()]
    if len(cleaned) > MAX_CONTEXT_LINKS:
        return _("List at most %(max)s links.", max=MAX_CONTEXT_LINKS)
    for link in cleaned:
        if not is_web_address(link):
            return _(
                "“%(link)s” is not a web address. Write each link in full, starting with "
                "https:// or http://, one per line.",
                link=link[:100],
            )
    return None


def validate_draft(data: DraftIn, settings: Settings, *, now: datetime) -> dict[str, str]:
    """Field errors, keyed by field name; empty when the draft can be saved."""
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("Enter a title.")
    if data.amount_cents is None:
        errors.setdefault("amount", _("Enter the amount in dollars, for example 4500 or 4500.00."))
    elif data.amount_cents <= 0:
        errors["amount"] = _("The amount must be more than zero.")
    elif data.amount_cents > settings.max_contract_cents:
        errors["amount"] = _(
            "The amount cannot be more than %(cap)s, taxes included.",
            cap=format_money(settings.max_contract_cents, settings.currency),
        )
    if data.proposal_deadline is None:
        errors.setdefault("proposal_deadline", _("Enter the date and time proposals are due."))
    elif data.proposal_deadline <= now:
        errors["proposal_deadline"] = _("The proposal deadline must be in the future.")
    if (
        data.delivery_date
        and data.proposal_deadline
        and (data.delivery_date < data.proposal_deadline.date())
    ):
        errors["delivery_date"] = _("The delivery date must be after the proposal deadline.")
    skills = normalise_skills(data.skills)
    if len(skills) > MAX_SKILLS:
        errors["skills"] = _("List at most %(max)s skills.", max=MAX_SKILLS)
    elif any(not _SKILL.match(skill) for skill in skills):
        errors["skills"] = _(
            "Skills are short words separated by commas, like python, accessibility."
        )
    if links_problem := context_links_problem(data.context_links):
        errors["context_links"] = links_problem
    if licence_problem := licences.licence_problem(data.license_spdx):
        errors["license_spdx"] = licence_problem
    if data.github_issue_url:
        try:
            parse_issue_url(data.github_issue_url)
        except IssueLinkError as exc:
            errors["github_issue_url"] = str(exc)
    return errors


def build_search_document(*texts: str) -> str:
    """What search looks in: every language's text and the skills, lower-cased, one line."""
    return " ".join(" ".join(texts).lower().split())


def _resolve_team(session: Session, slug: str, actor: User) -> Team:
    team = teams_repository.team_by_slug(session, slug)
    if team is None:
        raise ValidationFailed(field_errors={"team": _("Choose one of your teams.")})
    require_role(session, actor, team.id, AUTHOR_ROLES)
    return team


def _resolve_project(session: Session, team_id: int, slug: str) -> Project | None:
    if not slug:
        return None
    project = teams_repository.project_by_slug(session, team_id, slug)
    if project is None:
        raise ValidationFailed(field_errors={"project": _("Choose one of the team's projects.")})
    return project


def _apply(
    session: Session,
    opportunity: Opportunity,
    data: DraftIn,
    github: GitHubClient,
    settings: Settings,
) -> str | None:
    """Copy the draft onto the row; returns why the issue link is unverified, if it is."""
    assert data.amount_cents is not None
    assert data.proposal_deadline is not None
    skills = normalise_skills(data.skills)
    opportunity.title = data.title.strip()
    opportunity.title_fr = data.title_fr.strip()
    opportunity.problem_statement = data.problem_statement
    opportunity.problem_statement_fr = data.problem_statement_fr
    opportunity.context_links = "\n".join(
        link.strip() for link in data.context_links if link.strip()
    )
    opportunity.acceptance_criteria = data.acceptance_criteria
    opportunity.acceptance_criteria_fr = data.acceptance_criteria_fr
    opportunity.remote = data.remote
    opportunity.location = data.location.strip()
    opportunity.amount_cents = data.amount_cents
    opportunity.proposal_deadline = data.proposal_deadline
    opportunity.delivery_date = data.delivery_date
    opportunity.license_spdx = licences.normalised(data.license_spdx)
    opportunity.require_passing_checks = data.require_passing_checks
    opportunity.search_document = build_search_document(
        data.title,
        data.title_fr,
        data.problem_statement,
        data.problem_statement_fr,
        data.acceptance_criteria,
        data.acceptance_criteria_fr,
        *skills,
    )
    link_problem = _link_issue(session, settings, opportunity, data.github_issue_url, github)
    session.flush()
    repository.replace_skills(session, opportunity.id, skills)
    return link_problem


def _link_issue(
    session: Session, settings: Settings, opportunity: Opportunity, url: str, github: GitHubClient
) -> str | None:
    if not url:
        opportunity.github_repository_id = None
        opportunity.github_repository_full_name = ""
        opportunity.github_issue_number = None
        opportunity.github_default_branch = ""
        return None
    ref = parse_issue_url(url)
    already = (
        opportunity.issue_link_verified
        and opportunity.github_repository_full_name.lower() == ref.full_name.lower()
        and opportunity.github_issue_number == ref.number
    )
    if already:
        return None
    opportunity.github_repository_full_name = ref.full_name
    opportunity.github_issue_number = ref.number
    opportunity.github_repository_id = None
    try:
        verified = verify_issue(github, ref)
        require_installed_for_team(session, settings, verified, opportunity.team_id)
    except IssueLinkError as exc:
        return str(exc)
    opportunity.github_repository_id = verified.repository_id
    opportunity.github_repository_full_name = verified.full_name
    opportunity.github_default_branch = verified.default_branch
    return None


def create_draft(
    session: Session,
    team_slug: str,
    data: DraftIn,
    *,
    actor: User,
    settings: Settings,
    github: GitHubClient,
) -> tuple[Opportunity, str | None]:
    errors = validate_draft(data, settings, now=utcnow())
    if errors:
        raise ValidationFailed(field_errors=errors)
    team = _resolve_team(session, team_slug, actor)
    project = _resolve_project(session, team.id, data.project)
    opportunity = Opportunity(
        team_id=team.id,
        project_id=project.id if project else None,
        state=S.DRAFT,
        currency=settings.currency,
        created_by_user_id=actor.id,
    )
    session.add(opportunity)
    if not data.license_spdx.strip():
        data = data.model_copy(update={"license_spdx": team.default_licence})
    link_problem = _apply(session, opportunity, data, github, settings)
    audit.record(
        session,
        actor_user_id=actor.id,
        action="opportunity.create",
        subject_type="opportunity",
        subject_id=opportunity.id,
        to_state=S.DRAFT,
    )
    return opportunity, link_problem


def update_draft(
    session: Session,
    opportunity: Opportunity,
    data: DraftIn,
    *,
    actor: User,
    settings: Settings,
    github: GitHubClient,
) -> str | None:
    require_role(session, actor, opportunity.team_id, AUTHOR_ROLES)
    if opportunity.state not in EDITABLE_STATES:
        raise InvalidTransition(_("Only drafts can be edited here."))
    errors = validate_draft(data, settings, now=utcnow())
    if errors:
        raise ValidationFailed(field_errors=errors)
    project = _resolve_project(session, opportunity.team_id, data.project)
    opportunity.project_id = project.id if project else None
    link_problem = _apply(session, opportunity, data, github, settings)
    audit.record(
        session,
        actor_user_id=actor.id,
        action="opportunity.update",
        subject_type="opportunity",
        subject_id=opportunity.id,
    )
    return link_problem


_SENTENCE = re.compile(r"[.!?]+(?:\s|$)")
LONG_SENTENCE_WORDS = 25
NEAR_CAP = 0.9


def writing_hints(opportunity: Opportunity, settings: Settings) -> list[str]:
    """Advice computed from the draft itself, for its authors; none of it blocks publishing."""
    hints = []
    if not opportunity.acceptance_criteria.strip():
        hints.append(_("Add acceptance criteria: a list of statements anyone can check."))
    if not opportunity.context_links.strip():
        hints.append(_("Link the context and data a bidder needs: documentation, data, designs."))
    if opportunity.amount_cents >= NEAR_CAP * settings.max_contract_cents:
        hints.append(
            _(
                "The amount is close to the limit: is this one small piece of work, or "
                "should it be split?"
            )
        )
    text = opportunity.problem_statement.strip()
    sentences = [s for s in _SENTENCE.split(text) if s.strip()]
    words = len(text.split())
    if sentences and words / len(sentences) > LONG_SENTENCE_WORDS:
        hints.append(
            _(
                "Your sentences average %(n)s words; shorter ones (under 20) are easier to "
                "read, also in translation.",
                n=round(words / len(sentences)),
            )
        )
    if re.search(r"\b(must use|we want you to use|implement it with)\b", text, re.IGNORECASE):
        hints.append(_("Describe the problem rather than the solution; let bidders propose how."))
    return hints


def publication_problems(
    session: Session, opportunity: Opportunity, settings: Settings, now: datetime
) -> list[str]:
    """What still stops a draft from being published, in words for its team."""
    problems = []
    team = session.get(Team, opportunity.team_id)
    if team is None or team.approved_at is None:
        problems.append(_("The team must be approved by a platform administrator first."))
    if (
        team is not None
        and team.require_peer_review
        and not reviews_repository.reviewer_count(session, opportunity.id)
    ):
        problems.append(_("Your team asks for at least one completed peer review first."))
    if not opportunity.issue_link_verified:
        problems.append(_("Link a GitHub issue and let us verify it (save the draft again)."))
    if not opportunity.problem_statement.strip():
        problems.append(_("Describe the problem to be solved."))
    if not opportunity.acceptance_criteria.strip():
        problems.append(_("State the acceptance criteria."))
    if not opportunity.license_spdx:
        problems.append(_("Name the repository's open-source licence."))
    if opportunity.amount_cents > settings.max_contract_cents:
        problems.append(_("The amount is over the platform's limit."))
    if opportunity.proposal_deadline <= now:
        problems.append(_("Set a proposal deadline in the future."))
    return problems


def publish(session: Session, opportunity: Opportunity, *, actor: User, settings: Settings) -> None:
    """An approver's sign-off on the draft's amount publishes it (README, "Spending
    authority"): not the draft's author, within the approver's limit and the team's month."""
    require_role(session, actor, opportunity.team_id, teams.SIGNOFF_ROLES)
    if opportunity.state is not S.DRAFT:
        # Re-opening after an empty deadline is evaluations.reopen's, with its own checks.
        raise InvalidTransition(
            _(
                "An opportunity that is %(current)s cannot become %(target)s.",
                current=state_label(opportunity.state),
                target=state_label(S.PUBLISHED),
            )
        )
    problems = publication_problems(session, opportunity, settings, utcnow())
    if problems:
        raise ValidationFailed(" ".join(problems))
    signoff = teams.sign_off(
        session,
        actor,
        team_id=opportunity.team_id,
        opportunity_id=opportunity.id,
        author_user_id=opportunity.created_by_user_id,
        purpose=SignoffPurpose.PUBLISH,
        amount_cents=opportunity.amount_cents,
        currency=opportunity.currency,
    )
    transition(session, opportunity, S.PUBLISHED, actor=actor, details={"signoff_id": signoff.id})


def cancel(session: Session, opportunity: Opportunity, *, actor: User, reason: str) -> None:
    require_role(session, actor, opportunity.team_id, OWNER_ROLES)
    if not reason.strip():
        raise ValidationFailed(field_errors={"reason": _("Say why the opportunity is cancelled.")})
    transition(session, opportunity, S.CANCELLED, actor=actor, details={"reason": reason.strip()})


def visible_to(session: Session, opportunity: Opportunity, user: User | None) -> bool:
    if opportunity.published_at is not None:
        return True
    return user is not None and bool(
        teams_repository.roles_of(session, user.id, opportunity.team_id)
    )


def get_opportunity(session: Session, opportunity_id: int) -> Opportunity:
    """Any opportunity, drafts included (the route's access declaration guards who asks)."""
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound()
    return opportunity


def get_public(session: Session, opportunity_id: int) -> Opportunity:
    """A published (or once published) opportunity, or NotFound: drafts are not public."""
    opportunity = get_opportunity(session, opportunity_id)
    if opportunity.published_at is None:
        raise NotFound()
    return opportunity


def get_visible(session: Session, opportunity_id: int, user: User | None) -> repository.Listed:
    listed = repository.get_listed(session, opportunity_id)
    if listed is None or not visible_to(session, listed.opportunity, user):
        raise NotFound()  # a private draft is indistinguishable from a missing page
    return listed


def require_author(session: Session, opportunity: Opportunity, user: User) -> None:
    if not teams_repository.roles_of(session, user.id, opportunity.team_id) & set(AUTHOR_ROLES):
        raise Forbidden()


def _tell_the_evaluators(session: Session, opportunity: Opportunity) -> None:
    evaluators = teams_repository.members_with_roles(
        session, opportunity.team_id, (TeamRole.EVALUATOR,)
    )
    notifications.notify(
        session,
        evaluators,
        "deadline_passed",
        str(opportunity.id),
        lambda: (
            _("Proposals are ready to evaluate: %(title)s", title=opportunity.title),
            _(
                "The deadline has passed. Declare any conflict of interest, then score "
                "each proposal."
            ),
        ),
        link=links.evaluation(opportunity.id),
    )


def close_past_deadlines(session: Session, now: datetime) -> int:
    """Deadlines are acted on by this job, not by whichever request happens to come next."""
    closed = 0
    for opportunity_id in repository.past_deadline_ids(session, now):
        opportunity = session.get(Opportunity, opportunity_id)
        if opportunity is None or opportunity.state != S.PUBLISHED:
            continue
        try:
            transition(
                session,
                opportunity,
                S.EVALUATING,
                actor=None,
                details={"reason": "proposal deadline passed"},
            )
        except InvalidTransition:
            continue  # another worker or a person moved it first
        proposals.close_submissions(session, opportunity)
        _tell_the_evaluators(session, opportunity)
        closed += 1
    return closed
