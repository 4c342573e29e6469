"""HTML pages for evaluation and award."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.access import allow, team
from app.deps import (
    AppSettings,
    CurrentUser,
    DbSession,
    FormBody,
    RowId,
    form_text,
    form_values,
)
from app.errors import AppError
from app.evaluations import repository, service
from app.evaluations.labels import criterion_label
from app.forms import form_action
from app.models import Opportunity, Proposal, TeamRole, User
from app.models.base import utcnow
from app.opportunities import service as opportunities
from app.proposals import service as proposals
from app.teams import repository as teams_repository
from app.templating import render
from app.text import parse_local_datetime

router = APIRouter(tags=["pages"], include_in_schema=False)
OWNERS_AND_EVALUATORS = team(TeamRole.OWNER, TeamRole.EVALUATOR, via="opportunity_id")
EVALUATORS = team(TeamRole.EVALUATOR, via="opportunity_id")
PROPOSAL_EVALUATORS = team(TeamRole.EVALUATOR, via="proposal_id")
OWNERS = team(TeamRole.OWNER, via="opportunity_id")


def _evaluation_page(
    request: Request,
    db: DbSession,
    opportunity: Opportunity,
    user: User,
    error: AppError | None = None,
) -> Response:
    roles = teams_repository.roles_of(db, user.id, opportunity.team_id)
    declaration = proposals.declaration_of(db, opportunity.id, user.id)
    received = service.received(db, opportunity)  # none while sealed
    context: dict[str, Any] = {
        "o": opportunity,
        "is_evaluator": TeamRole.EVALUATOR in roles,
        "is_owner": TeamRole.OWNER in roles,
        "declaration": declaration,
        "deadline_passed": not service.sealed(opportunity),
        "received": received,
        "error": error,
        "done": {p.id for p, _a in received if repository.has_submitted(db, p.id, user.id)},
        "may_evaluate": proposals.may_evaluate(db, opportunity, user, utcnow()),
        "consensus": service.consensus(db, opportunity)
        if service.may_see_consensus(db, opportunity, user)
        else None,
        "criteria": service.rubric_of(db, opportunity),
        "label": criterion_label,
        "award": repository.award_for(db, opportunity.id),
        # Blind evaluation: "Proposal A, B, ..." in the order they were submitted.
        "letters": proposals.letters(db, opportunity.id),
        "reviewed_at": service.reviewed_the_draft(db, opportunity, user),
        "declarations": service.declarations(db, opportunity, user),
    }
    return render(
        request,
        "evaluations/opportunity.html",
        context,
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/opportunities/{opportunity_id}/evaluation",
    response_class=HTMLResponse,
    dependencies=[allow(OWNERS_AND_EVALUATORS)],
)
def evaluation(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser
) -> Response:
    return _evaluation_page(request, db, opportunities.get_public(db, opportunity_id), user)


def _on_evaluation_page(
    request: Request,
    db: DbSession,
    user: User,
    opportunity_id: int,
    step: Callable[[Opportunity], object],
    *,
    then: str,
) -> Response:
    """An owner's or evaluator's step on the opportunity; a refusal shows its evaluation page
    again with the reason."""
    opportunity = opportunities.get_public(db, opportunity_id)
    return form_action(
        db,
        lambda: step(opportunity),
        then=then,
        again=lambda refusal: _evaluation_page(
            request, db, opportunities.get_public(db, opportunity_id), user, refusal
        ),
    )


@router.post(
    "/opportunities/{opportunity_id}/evaluation/declaration", dependencies=[allow(EVALUATORS)]
)
def declare(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    has_conflict, note = form_text(form, "conflict") == "yes", form_text(form, "note")
    reviewed_draft = form_text(form, "reviewed_draft") == "on"
    return _on_evaluation_page(
        request,
        db,
        user,
        opportunity_id,
        lambda opportunity: service.declare(
            db,
            opportunity,
            user,
            has_conflict=has_conflict,
            note=note,
            reviewed_draft=reviewed_draft,
        ),
        then=f"/opportunities/{opportunity_id}/evaluation",
    )


def _score_page(
    request: Request,
    db: DbSession,
    proposal: Proposal,
    user: User,
    values: dict[str, str] | None = None,
    error: AppError | None = None,
) -> Response:
    opportunity = opportunities.get_public(db, proposal.opportunity_id)
    mine = repository.my_scores(db, proposal.id, user.id)
    submitted = repository.has_submitted(db, proposal.id, user.id)
    shown = values or {
        **{f"score_{k}": str(s.score) for k, s in mine.items()},
        **{f"comment_{k}": s.comment for k, s in mine.items()},
    }
    return render(
        request,
        "evaluations/score.html",
        {
            "p": proposal,
            "letter": proposals.letters(db, opportunity.id).get(proposal.id, ""),
            "o": opportunity,
            "values": shown,
            "submitted": submitted,
            "criteria": [c for c in service.rubric_of(db, opportunity) if not c.is_price],
            "label": criterion_label,
            "error": error,
            "errors": error.field_errors if error else {},
            # Others' scores only once this evaluator has submitted their own.
            "all_scores": repository.comments_for(db, proposal.id) if submitted else [],
        },
        status_code=error.status_code if error else 200,
    )


@router.get(
    "/proposals/{proposal_id}/evaluation",
    response_class=HTMLResponse,
    dependencies=[allow(PROPOSAL_EVALUATORS)],
)
def score_form(proposal_id: RowId, request: Request, db: DbSession, user: CurrentUser) -> Response:
    proposal, _opportunity_row = proposals.get_readable(db, proposal_id, user)
    return _score_page(request, db, proposal, user)


def _on_score_page(
    request: Request,
    db: DbSession,
    user: User,
    proposal: Proposal,
    step: Callable[[], object],
    values: dict[str, str] | None = None,
) -> Response:
    """An evaluator's step on a proposal; a refusal shows the scoring page again, else the
    opportunity's evaluation page comes next."""
    proposal_id, opportunity_id = proposal.id, proposal.opportunity_id
    return form_action(
        db,
        step,
        then=f"/opportunities/{opportunity_id}/evaluation",
        again=lambda refusal: _score_page(
            request, db, proposals.get_readable(db, proposal_id, user)[0], user, values, refusal
        ),
    )


@router.post(
    "/proposals/{proposal_id}/evaluation",
    response_class=HTMLResponse,
    dependencies=[allow(PROPOSAL_EVALUATORS)],
)
def score(
    proposal_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    proposal, opportunity = proposals.get_readable(db, proposal_id, user)
    scores = {}
    for criterion in service.rubric_of(db, opportunity):
        raw = form_text(form, f"score_{criterion.key}")
        scores[criterion.key] = (
            int(raw) if raw.isdigit() else None,
            form_text(form, f"comment_{criterion.key}"),
        )
    submit = form_text(form, "action") == "submit"
    return _on_score_page(
        request,
        db,
        user,
        proposal,
        lambda: service.score(db, proposal_id, user, scores, submit=submit),
        form_values(form),
    )


@router.post("/proposals/{proposal_id}/disqualify", dependencies=[allow(PROPOSAL_EVALUATORS)])
def disqualify(
    proposal_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    proposal, _opportunity = proposals.get_readable(db, proposal_id, user)
    return _on_score_page(
        request,
        db,
        user,
        proposal,
        lambda: service.disqualify(db, proposal_id, user, form_text(form, "reason")),
    )


@router.post("/opportunities/{opportunity_id}/award", dependencies=[allow(OWNERS)])
def award(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    form: FormBody,
) -> Response:
    raw = form_text(form, "proposal")
    chosen, reason = int(raw) if raw.isdigit() else 0, form_text(form, "reason")
    return _on_evaluation_page(
        request,
        db,
        user,
        opportunity_id,
        lambda opportunity: service.award(db, opportunity, user, chosen, reason, settings),
        then=f"/opportunities/{opportunity_id}",
    )


@router.post("/opportunities/{opportunity_id}/reopen", dependencies=[allow(OWNERS)])
def reopen(
    opportunity_id: RowId,
    request: Request,
    db: DbSession,
    user: CurrentUser,
    settings: AppSettings,
    form: FormBody,
) -> Response:
    deadline = parse_local_datetime(form_text(form, "proposal_deadline"), settings.zone)
    return _on_evaluation_page(
        request,
        db,
        user,
        opportunity_id,
        lambda opportunity: service.reopen(db, opportunity, user, deadline),
        then=f"/opportunities/{opportunity_id}",
    )


@router.post("/opportunities/{opportunity_id}/close-unsuccessful", dependencies=[allow(OWNERS)])
def close_unsuccessful(
    opportunity_id: RowId, request: Request, db: DbSession, user: CurrentUser, form: FormBody
) -> Response:
    reason = form_text(form, "reason")
    return _on_evaluation_page(
        request,
        db,
        user,
        opportunity_id,
        lambda opportunity: service.close_unsuccessful(db, opportunity, user, reason),
        then=f"/opportunities/{opportunity_id}",
    )
