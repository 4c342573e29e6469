"""Rows built directly, to set up state; the behaviour under test always runs through the app."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.models import Opportunity, OpportunitySkill, Proposal, Team, TeamMembership, User
from app.models.base import utcnow

_ids = itertools.count(1)


def state_of(session: Session, model: type[Opportunity | Proposal], row_id: int) -> str:
    """The state as stored now (not as this session remembers it)."""
    session.expire_all()
    row: Opportunity | Proposal | None = (
        session.get(Opportunity, row_id) if model is Opportunity else session.get(Proposal, row_id)
    )
    assert row is not None
    return row.state


# What an approver made by the factory may sign off at once: the platform's default cap.
APPROVER_LIMIT_CENTS = 999_900


def make_user(
    session: Session,
    *,
    roles: dict[Team, list[str]] | None = None,
    approver_limit_cents: int = APPROVER_LIMIT_CENTS,
    **fields: Any,
) -> User:
    n = next(_ids)
    user = User(
        github_id=fields.pop("github_id", 100_000 + n),
        login=fields.pop("login", f"user{n}"),
        name=fields.pop("name", f"User {n}"),
        **fields,
    )
    session.add(user)
    session.flush()
    for team, team_roles in (roles or {}).items():
        for role in team_roles:
            limit = approver_limit_cents if role == "approver" else None
            session.add(
                TeamMembership(
                    team_id=team.id, user_id=user.id, role=role, spending_limit_cents=limit
                )
            )
    session.flush()
    return user


def make_team(session: Session, **fields: Any) -> Team:
    n = next(_ids)
    fields.setdefault("approved_at", utcnow())
    team = Team(
        slug=fields.pop("slug", f"team-{n}"), name=fields.pop("name", f"Team {n}"), **fields
    )
    session.add(team)
    session.flush()
    return team


def make_proposal(
    session: Session, opportunity: Opportunity, author: User, **fields: Any
) -> Proposal:
    defaults: dict[str, Any] = {
        "state": "submitted",
        "approach": "I would fix it.",
        "price_cents": min(50_000, opportunity.amount_cents),
        "currency": opportunity.currency,
        "submitted_at": utcnow(),
    }
    defaults.update(fields)
    proposal = Proposal(opportunity_id=opportunity.id, author_user_id=author.id, **defaults)
    session.add(proposal)
    session.flush()
    return proposal


def make_opportunity(
    session: Session, team: Team, *, skills: tuple[str, ...] = (), **fields: Any
) -> Opportunity:
    n = next(_ids)
    state = fields.pop("state", "draft")
    now = utcnow()
    defaults: dict[str, Any] = {
        "title": f"Opportunity {n}",
        "problem_statement": "A problem worth solving.",
        "acceptance_criteria": "- It works.",
        "amount_cents": 100_000,
        "currency": "CAD",
        "proposal_deadline": now + timedelta(days=7),
        "github_repository_id": 42,
        "github_repository_full_name": "gc-demo/repo",
        "github_issue_number": n,
        "license_spdx": "MIT",
        "published_at": None if state in ("draft", "in_peer_review") else now,
    }
    defaults.update(fields)
    if "search_document" not in fields:
        defaults["search_document"] = f"{defaults['title']} {defaults['problem_statement']}".lower()
    opportunity = Opportunity(team_id=team.id, state=state, **defaults)
    session.add(opportunity)
    session.flush()
    session.add_all(OpportunitySkill(opportunity_id=opportunity.id, skill=s) for s in skills)
    session.flush()
    return opportunity


def draft_form(**overrides: str) -> dict[str, str]:
    """The new-opportunity form as an editor fills it in, with a GitHub issue."""
    deadline = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "title": "Announce errors to screen readers",
        "problem_statement": "Errors are **silent**.",
        "acceptance_criteria": "- Announced",
        "skills": "Accessibility, react, accessibility",
        "amount": "4 500,50",
        "proposal_deadline": deadline,
        "github_issue_url": "https://github.com/gc-demo/forms/issues/7",
        "context_links": "https://example.org/a\nhttps://example.org/b",
        "license_spdx": "MIT",
        "remote": "on",
    }
    form.update(overrides)
    return form
