"""Done means 2 (accounts): every route, called as every kind of person, does what the reviewed
table in tests/permission_table.py says, and declares exactly that. The oracle is the table,
not the declarations (a declaration is also the enforcement, so a wrongly wide one would agree
with itself). A route without a declaration, or without a row, fails here."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.access import Access, DeclaredRoute, Who, declared_routes
from app.accounts import service as accounts
from app.config import Settings
from app.main import create_app
from app.models import (
    Opportunity,
    Project,
    Question,
    Review,
    ReviewRequest,
    Team,
    TeamMembership,
    User,
)
from app.proposals import repository as proposals_repository
from app.teams import service as teams_service
from tests import permission_table
from tests.permission_table import PERSONAS, ROUTES
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.web import sign_in

TABLE_FILE = "tests/permission_table.py"
TEAM_ROLE_OF = {
    "evaluator": "evaluator",
    "editor": "editor",
    "owner": "owner",
    "finance": "finance",
    "approver": "approver",
}
# 404 is not a refusal: the route let the person in and then found nothing of theirs there.
DENIED = {401, 403}


@pytest.fixture(scope="module")
def routes() -> list[DeclaredRoute]:
    return declared_routes(create_app(Settings(demo_sign_in=True, database_url="sqlite://")))


def _key(route: DeclaredRoute) -> str:
    return f"{route.method} {route.path}"


def test_every_route_declares_who_may_call_it(routes: list[DeclaredRoute]) -> None:
    assert len(routes) > 40  # the walk sees the included routers, not just the app's own routes
    undeclared = [_key(r) for r in routes if r.access is None]
    assert not undeclared, f"routes without an access declaration: {undeclared}"


def _spelled(personas: AbstractSet[str]) -> str:
    """The personas as the table writes them: a named group of the table, or a set."""
    groups = {
        name: value
        for name, value in vars(permission_table).items()
        if isinstance(value, frozenset)
    }
    for name, group in groups.items():
        if personas == group:
            return name
    return "{" + ", ".join(p.upper() for p in PERSONAS if p in personas) + "}"


def test_every_route_has_a_row_in_the_reviewed_table(routes: list[DeclaredRoute]) -> None:
    missing = [route for route in routes if _key(route) not in ROUTES]
    lines = [
        f'    "{_key(route)}": {_spelled(declared_personas(route.access))},'
        if route.access
        else f'    "{_key(route)}": ...,  # declare its access first'
        for route in missing
    ]
    if missing:
        pytest.fail(
            f"routes without a row in {TABLE_FILE}. Decide who may call each one from what the"
            " page is for (DESIGN.md, README's access rules), then add its line (this is what the"
            " code declares now; correct it if that is not what it should be):\n"
            + "\n".join(lines),
            pytrace=False,
        )


def test_every_row_of_the_table_names_a_route(routes: list[DeclaredRoute]) -> None:
    gone = sorted(ROUTES.keys() - {_key(route) for route in routes})
    if gone:
        pytest.fail(
            f"rows in {TABLE_FILE} for routes that no longer exist (remove them): {gone}",
            pytrace=False,
        )


def test_every_declaration_lets_in_exactly_the_table_row(routes: list[DeclaredRoute]) -> None:
    differ = [
        f'"{_key(route)}": the table says {_spelled(ROUTES[_key(route)])}, the code declares'
        f" {route.access.describe()}, which lets in {_spelled(declared_personas(route.access))}"
        for route in routes
        if route.access
        and _key(route) in ROUTES
        and declared_personas(route.access) != ROUTES[_key(route)]
    ]
    if differ:
        pytest.fail(
            f"access differs from the reviewed table ({TABLE_FILE}); change the code or, after"
            " review, the table:\n" + "\n".join(differ),
            pytrace=False,
        )


def declared_personas(access: Access) -> frozenset[str]:
    return frozenset(p for p in PERSONAS if declared_allows(access, p))


def declared_allows(access: Access, persona: str) -> bool:
    """What a declaration lets in, for the personas of this walk."""
    if access.who is Who.PUBLIC:
        return True
    if access.who is Who.SIGNED_WEBHOOK:
        return False  # the walk sends no signature, whoever is signed in
    if persona == "anonymous":
        return False
    if access.who is Who.SIGNED_IN:
        return True
    if access.who is Who.ADMIN:
        return persona == "admin"
    if access.who is Who.OUTSIDE_TEAM:
        return persona not in TEAM_ROLE_OF
    if access.admins_too and persona == "admin":
        return True
    return TEAM_ROLE_OF.get(persona) in access.roles


@dataclass
class World:
    settings: Settings
    team: Team
    pending_team: Team
    invite_team: Team
    people: dict[str, User]
    draft_id: int
    published_id: int
    project_slug: str
    token_ids: dict[str, int]
    proposal_ids: dict[str, int]
    question_id: int
    review_id: int

    def path_for(self, path: str, access: Access, persona: str, db: Session) -> str:
        values = {
            "slug": self.pending_team.slug if path.startswith("/admin/teams/") else self.team.slug,
            "opportunity_id": str(self.draft_id if access.who is Who.TEAM else self.published_id),
            "project_slug": self.project_slug,
            # Role changes target someone who is not the persona walking the routes.
            "user_id": str(self.people["finance" if persona != "finance" else "evaluator"].id),
            "github_id": str(
                self.people["finance" if persona != "finance" else "evaluator"].github_id
            ),
            "token_id": str(self.token_ids.get(persona, 0)),
            "proposal_id": str(self.proposal_ids.get(persona, 1)),
            "question_id": str(self.question_id),
            "review_id": str(self.review_id),
            "claim_id": "1",  # none exists: administrators get 404, everyone else a refusal
        }
        if path.endswith("/proposal/withdraw") and persona in self.people:
            # Each withdrawal needs a proposal to withdraw.
            published = db.get(Opportunity, self.published_id)
            assert published is not None
            if proposals_repository.active_for(db, published.id, self.people[persona].id) is None:
                make_proposal(db, published, self.people[persona])
                db.commit()
        if "{token}" in path:
            # Into a team of its own: accepting must not change anyone's roles in the team
            # the other routes are walked against.
            _invitation, raw = teams_service.invite(
                db,
                self.people["owner"],
                self.invite_team,
                email="new@example.gc.ca",
                role="editor",
                settings=self.settings,
                client=accounts.ClientInfo(),
            )
            db.commit()
            values["token"] = raw
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    team = make_team(db, slug="the-team")
    other = make_team(db, slug="other-team")
    pending = make_team(db, slug="pending-team", approved_at=None)
    invite_team = make_team(db, slug="invite-team")
    people: dict[str, User] = {
        "developer": make_user(db),
        "other_team": make_user(db, roles={other: ["owner"]}),
        "admin": make_user(db, is_admin=True),
        **{persona: make_user(db, roles={team: [role]}) for persona, role in TEAM_ROLE_OF.items()},
    }
    project = Project(team_id=team.id, slug="product", name="Product")
    db.add(project)
    draft = make_opportunity(db, team, state="draft")
    published = make_opportunity(db, team, state="published")
    token_ids = {}
    proposal_ids = {}
    for persona, user in people.items():
        proposal_ids[persona] = make_proposal(db, published, user).id
        token, _raw = accounts.create_api_token(
            db,
            user,
            name="t",
            scope="read",
            days=5,
            settings=settings,
            client=accounts.ClientInfo(),
        )
        token_ids[persona] = token.id
    db.commit()
    db.add(TeamMembership(team_id=invite_team.id, user_id=people["owner"].id, role="owner"))
    question = Question(
        opportunity_id=published.id,
        asker_user_id=people["developer"].id,
        body="Is there test data?",
    )
    db.add(question)
    request = ReviewRequest(opportunity_id=draft.id, audience="all")
    db.add(request)
    db.flush()
    review = Review(
        request_id=request.id,
        opportunity_id=draft.id,
        reviewer_user_id=people["other_team"].id,
        comments={"problem": "Clear"},
    )
    db.add(review)
    db.flush()
    db.commit()
    return World(
        settings,
        team,
        pending,
        invite_team,
        people,
        draft.id,
        published.id,
        project.slug,
        token_ids,
        proposal_ids,
        question.id,
        review.id,
    )


def _call(client: TestClient, method: str, url: str) -> int:
    token = client.cookies.get("csrftoken") or ""
    if url.startswith("/api/"):
        response = client.request(
            method, url, json={}, headers={"x-csrftoken": token}, follow_redirects=False
        )
    elif method == "GET":
        response = client.get(url, follow_redirects=False)
    else:
        response = client.request(method, url, data={"csrftoken": token}, follow_redirects=False)
    return response.status_code


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_route_as_every_persona(
    persona: str,
    world: World,
    client: TestClient,
    db: Session,
    routes: list[DeclaredRoute],
) -> None:
    if persona != "anonymous":
        sign_in(client, world.people[persona])
    else:
        client.get("/")  # a browser has the CSRF cookie before it posts anything
    mismatches = []

    # Withdrawing, then leaving the team, are walked last: they undo what other routes rely on.
    def walk_order(route: DeclaredRoute) -> int:
        return 2 if route.path.endswith("/leave") else int(route.path.endswith("/withdraw"))

    for route in sorted(routes, key=walk_order):
        method, path, access = route.method, route.path, route.access
        if access is None or _key(route) not in ROUTES:
            continue  # reported by the tests above
        if path in ("/sign-out", "/account/sign-out-everywhere", "/account/delete") and (
            method == "POST"
        ):
            continue  # they end the session this test walks with; covered on their own below
        url = world.path_for(path, access, persona, db)
        status = _call(client, method, url)
        assert status < 500, f"{method} {url} as {persona}: {status}"
        allowed = status not in DENIED
        if allowed != (persona in ROUTES[_key(route)]):
            mismatches.append(
                f"{_key(route)} as {persona}: answered {status}; the table says"
                f" {_spelled(ROUTES[_key(route)])}, the code declares {access.describe()}"
            )
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("path", ["/sign-out", "/account/sign-out-everywhere", "/account/delete"])
@pytest.mark.parametrize("persona", ["anonymous", "developer"])
def test_session_ending_routes(path: str, persona: str, world: World, client: TestClient) -> None:
    if persona != "anonymous":
        sign_in(client, world.people[persona])
    else:
        client.get("/")
    status = _call(client, "POST", path)
    assert (status in DENIED) == (persona == "anonymous")
