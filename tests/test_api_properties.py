"""Done means 5 (accounts) and 3 (issue 14): schemathesis over the whole API, from its OpenAPI
description. Every operation is called with generated input as a developer and as a team owner
(both with write tokens) and anonymously; then the calls are chained, statefully, along the links
schemathesis infers from the description, so that writes act on real ids. No answer may be a
server error, carry a status, content type or header the description does not list, or break the
documented schema; none may show another person's private fields."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import product
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.access import Who, declared_routes
from app.accounts import service as accounts
from app.config import Settings
from app.models import (
    Award,
    Base,
    Claim,
    ClaimSide,
    ConflictDeclaration,
    Payout,
    PayoutState,
    Question,
    ReviewRequest,
    Team,
    User,
)
from app.models.base import utcnow
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.fake_github import FakeGitHub

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def settings_for(max_examples: int, stateful_step_count: int = 50) -> settings:
    # Derandomized so CI is repeatable; drop derandomize locally to explore new examples.
    return settings(
        max_examples=max_examples,
        stateful_step_count=stateful_step_count,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


@dataclass
class World:
    owner_token: str
    developer_token: str
    admin_token: str
    other_private: list[str]
    # Real values for path parameters, so that generated calls also act on existing rows.
    path_values: dict[str, list[int | str]]

    def identities(self) -> list[dict[str, str]]:
        """Request headers for the team owner, the developer, a platform administrator and
        someone not signed in."""
        return [
            self.bearer(self.owner_token),
            self.bearer(self.developer_token),
            self.bearer(self.admin_token),
            {},
        ]

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def check_no_leak(self, label: str, text: str) -> None:
        for private in self.other_private:
            assert private not in text, label


def _token(db: Session, user: User, settings: Settings) -> str:
    _row, token = accounts.create_api_token(
        db,
        user,
        name="fuzz",
        scope="write",
        days=1,
        settings=settings,
        client=accounts.ClientInfo(),
    )
    return token


def build_world(db: Session, settings: Settings, fake_github: FakeGitHub) -> World:
    """A team with an opportunity in each phase an API write acts on: a draft (publish, peer
    review), two open for proposals, one with a question (propose, ask, answer, addenda), one
    past its deadline with proposals (score, disqualify, consensus, award), one awarded to the
    developer (accept) and one the developer is asked to review."""
    fake_github.add_repository("gc-demo/repo", 42)
    team = make_team(db, slug="forms")
    every_role = ["owner", "editor", "evaluator", "finance", "approver"]
    owner = make_user(
        db, email="me@example.gc.ca", terms_version=settings.terms_version, roles={team: every_role}
    )
    developer = make_user(
        db, terms_version=settings.terms_version, eligibility_attested_at=utcnow()
    )
    other = make_user(
        db, email="other.person@example.com", bio="private bio", roles={team: ["editor"]}
    )
    rival = make_user(db, terms_version=settings.terms_version, eligibility_attested_at=utcnow())
    # Issues GitHub knows, so that the draft can be published and a new draft linked.
    for issue in (9001, 9002):
        fake_github.add_issue("gc-demo/repo", issue)
    draft = make_opportunity(
        db, team, state="draft", title="Draft only the team sees", github_issue_number=9001
    )
    published = make_opportunity(db, team, state="published", skills=("python",))
    opened = make_opportunity(db, team, state="published")
    question = Question(opportunity_id=opened.id, asker_user_id=developer.id, body="Tests?")
    db.add(question)
    closed = make_opportunity(
        db, team, state="evaluating", proposal_deadline=utcnow() - timedelta(days=1)
    )
    proposals = [
        make_proposal(db, closed, author, state="under_evaluation") for author in (developer, rival)
    ]
    db.add(ConflictDeclaration(opportunity_id=closed.id, user_id=owner.id, has_conflict=False))
    awarded = make_opportunity(
        db, team, state="awarded", proposal_deadline=utcnow() - timedelta(days=2)
    )
    winner = make_proposal(db, awarded, developer, state="awarded")
    in_review = make_opportunity(db, team, state="in_peer_review")
    db.add(
        ReviewRequest(
            opportunity_id=in_review.id,
            requested_by_user_id=owner.id,
            audience="named",
            named_user_ids=[developer.id],
        )
    )
    db.add(
        Award(
            opportunity_id=awarded.id,
            proposal_id=winner.id,
            reason="Top-ranked proposal",
            awarded_by_user_id=owner.id,
            accept_by=utcnow() + timedelta(days=5),
        )
    )
    db.flush()
    claim = _claimed_contract(db, team, owner, rival)
    admin = make_user(db, is_admin=True, terms_version=settings.terms_version)
    world = World(
        owner_token=_token(db, owner, settings),
        developer_token=_token(db, developer, settings),
        admin_token=_token(db, admin, settings),
        other_private=["other.person@example.com"],
        path_values={
            "slug": [team.slug],
            "opportunity_id": [
                o.id for o in (draft, published, opened, closed, awarded, in_review)
            ],
            "proposal_id": [p.id for p in (*proposals, winner)],
            "question_id": [question.id],
            # A member of the team, and someone who is not (404).
            "github_id": [other.github_id, developer.github_id],
            "claim_id": [claim.id],
        },
    )
    theirs = _token(db, other, settings)
    world.other_private += [theirs, theirs[:10]]
    db.commit()
    return world


def _claimed_contract(db: Session, team: Team, owner: User, awardee: User) -> Claim:
    """Funded work on hold for a claim the team opened: what administrators resolve."""
    held = make_opportunity(
        db, team, state="on_hold", proposal_deadline=utcnow() - timedelta(days=3)
    )
    proposal = make_proposal(db, held, awardee, state="awarded")
    award = Award(
        opportunity_id=held.id,
        proposal_id=proposal.id,
        reason="Top-ranked proposal",
        awarded_by_user_id=owner.id,
        accept_by=utcnow() + timedelta(days=5),
        accepted_at=utcnow(),
    )
    db.add(award)
    db.flush()
    payout = Payout(
        award_id=award.id,
        opportunity_id=held.id,
        amount_cents=100_000,
        currency=held.currency,
        state=PayoutState.FUNDED,
    )
    db.add(payout)
    db.flush()
    claim = Claim(
        opportunity_id=held.id,
        payout_id=payout.id,
        opened_by_user_id=owner.id,
        side=ClaimSide.TEAM,
        reason="Nothing delivered",
        money_held=True,
    )
    db.add(claim)
    db.flush()
    return claim


def _restart(engine: Engine) -> None:
    """Empties every table and restarts its ids. DELETE, because TRUNCATE takes about half a
    second each time, and this runs before every scenario."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        sequences = connection.scalars(
            text("SELECT sequence_name FROM information_schema.sequences")
        )
        for name in list(sequences):
            connection.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))


@pytest.fixture
def fresh_world(engine: Engine, settings: Settings, fake_github: FakeGitHub) -> Callable[[], World]:
    """Makes the world again from nothing: each operation, and each stateful scenario, starts
    from the same data (the same ids too), so that neither depends on what ran before it and
    Hypothesis can replay a scenario."""

    def make() -> World:
        _restart(engine)
        fake_github.reset()
        with Session(engine, expire_on_commit=False) as db:
            return build_world(db, settings, fake_github)

    return make


def _schema(client: TestClient) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", client.app)


def test_every_operation_answers_as_documented(
    client: TestClient, fresh_world: Callable[[], World]
) -> None:
    schema = _schema(client)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "an API operation has a schema nobody can call"
    assert len(operations) >= 30
    on_real_rows = {operation.label: _fuzz(operation, fresh_world()) for operation in operations}

    # Writes on existing rows were not all turned away at the door: each got past access
    # control and found its row at least once (answered, or refused for the row's state or input).
    writes = [
        operation.label
        for operation in operations
        if operation.method.upper() != "GET" and operation.path.startswith("/api/")
    ]
    unreached = [label for label in writes if not on_real_rows[label] - {401, 403, 404}]
    assert not unreached, unreached


def _real_rows(
    operation: schemathesis.APIOperation[Any, Any, Any, Any], world: World
) -> list[dict[str, Any]]:
    """Every combination of the world's rows the operation's path can name."""
    names = [p.name for p in operation.path_parameters]
    if not names:
        return []
    choices = product(*(world.path_values[name] for name in names))
    return [dict(zip(names, values, strict=True)) for values in choices]


def _fuzz(operation: schemathesis.APIOperation[Any, Any, Any, Any], world: World) -> set[int]:
    """Valid and invalid input anywhere, each call made by one of the three people; then a few
    inputs on each real row, made by all three. Returns the statuses answered on real rows."""
    on_real_rows: set[int] = set()

    def call(case: schemathesis.Case[Any], headers: dict[str, str]) -> int:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        world.check_no_leak(operation.label, response.text)
        return response.status_code

    anywhere = st.one_of(
        operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    )

    @given(case=anywhere, who=st.sampled_from(world.identities()))
    @settings_for(max_examples=20)
    def run_anywhere(case: schemathesis.Case[Any], who: dict[str, str]) -> None:
        call(case, who)

    @settings_for(max_examples=3)
    def run_on_row(case: schemathesis.Case[Any]) -> None:
        on_real_rows.update(call(case, headers) for headers in world.identities())

    run_anywhere()
    for row in _real_rows(operation, world):
        given(case=operation.as_strategy(path_parameters=row))(run_on_row)()
    return on_real_rows


def test_chained_calls_reach_writes_and_answer_as_documented(
    client: TestClient, fresh_world: Callable[[], World]
) -> None:
    answers: dict[str, set[int]] = defaultdict(set)
    assert isinstance(client.app, FastAPI)
    machine = _state_machine(_schema(client), client.app, fresh_world, answers)
    machine.run(settings=settings_for(max_examples=100, stateful_step_count=8))

    # Chained calls acted on real rows: writes got past access control and found their rows.
    reached = [
        label
        for label, statuses in answers.items()
        if not label.startswith("GET") and statuses - {401, 403, 404}
    ]
    assert len(reached) >= 8, reached


def _state_machine(
    schema: schemathesis.BaseSchema,
    app: FastAPI,
    fresh_world: Callable[[], World],
    answers: dict[str, set[int]],
) -> type[Any]:
    """The inferred state machine, calling as the person each operation is for: team routes as
    the owner, developers' routes as the developer, the others as each in turn."""
    access = {f"{d.method} {d.path}": d.access for d in declared_routes(app)}
    base: type[Any] = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc]
        def setup(self) -> None:
            self.world = fresh_world()
            self.turn = 0

        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            declared = access[case.operation.label]
            if declared is not None and declared.who is Who.ADMIN:
                token = self.world.admin_token
            elif declared is not None and declared.who is Who.TEAM:
                token = self.world.owner_token
            elif declared is not None and declared.who is Who.OUTSIDE_TEAM:
                token = self.world.developer_token
            else:
                self.turn += 1
                token = (self.world.owner_token, self.world.developer_token)[self.turn % 2]
            return {"headers": self.world.bearer(token)}

        def validate_response(
            self, response: Any, case: schemathesis.Case[Any], *_checks: Any, **kwargs: Any
        ) -> None:
            answers[case.operation.label].add(response.status_code)
            case.validate_response(
                response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder
            )
            self.world.check_no_leak(case.operation.label, response.text)

    return Machine
