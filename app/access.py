"""Who may call each route. Every route declares it, here or with ``allow(...)`` on the route;
the declaration is also what enforces it, and tests/test_permissions.py calls every route as
every kind of person and compares with the declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, Mount

from app.deps import MAX_ID, DbSession, OptionalUser
from app.errors import Forbidden, NotFound, NotSignedIn
from app.i18n import gettext as _
from app.models import Opportunity, Proposal, Question, Review, TeamRole
from app.teams import repository as teams_repository

ALL_TEAM_ROLES = frozenset(TeamRole)


class Who(StrEnum):
    PUBLIC = "public"  # anyone, signed in or not
    SIGNED_IN = "signed_in"  # any signed-in person (a developer, at least)
    TEAM = "team"  # a member of the team named by the path, holding one of `roles`
    OUTSIDE_TEAM = "outside_team"  # signed in and NOT a member of the team named by the path
    SIGNED_WEBHOOK = "signed_webhook"  # no person: the request body's signature is checked
    ADMIN = "admin"  # a platform administrator


@dataclass(frozen=True)
class Access:
    who: Who
    roles: frozenset[TeamRole] = field(default_factory=frozenset)
    # The path parameter that names the team: a team slug or an opportunity id.
    team_from: str | None = None
    # Platform administrators may call it too (money trails: oversight without membership).
    admins_too: bool = False

    def describe(self) -> str:
        if self.who is Who.TEAM:
            admins = " or admin" if self.admins_too else ""
            return f"team {'/'.join(sorted(self.roles))}{admins} (via {self.team_from})"
        if self.who is Who.OUTSIDE_TEAM:
            return f"signed in, outside the team (via {self.team_from})"
        return self.who.value


PUBLIC = Access(Who.PUBLIC)
SIGNED_IN = Access(Who.SIGNED_IN)
ADMIN = Access(Who.ADMIN)
SIGNED_WEBHOOK = Access(Who.SIGNED_WEBHOOK)


def team(*roles: TeamRole, via: str, admins_too: bool = False) -> Access:
    return Access(Who.TEAM, frozenset(roles) or ALL_TEAM_ROLES, via, admins_too)


def outside_team(via: str) -> Access:
    """Developers: anyone signed in who is not a member of the team that posted the work."""
    return Access(Who.OUTSIDE_TEAM, frozenset(), via)


def _team_id(db: DbSession, access: Access, request: Request) -> int:
    raw = str(request.path_params.get(access.team_from or "", ""))
    if access.team_from == "slug":
        found = teams_repository.team_by_slug(db, raw)
        if found is None:
            raise NotFound()
        return found.id
    if access.team_from not in ("opportunity_id", "proposal_id", "question_id", "review_id"):
        raise LookupError(f"no team resolver for {access.team_from!r}")
    if not (raw.isdigit() and 1 <= int(raw) <= MAX_ID):
        raise NotFound()
    opportunity_id = int(raw)
    if access.team_from != "opportunity_id":
        opportunity_id = _parent_opportunity_id(db, access.team_from, opportunity_id)
    opportunity = db.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFound()
    return opportunity.team_id


def _parent_opportunity_id(db: DbSession, kind: str, row_id: int) -> int:
    child: Proposal | Question | Review | None
    if kind == "proposal_id":
        child = db.get(Proposal, row_id)
    elif kind == "question_id":
        child = db.get(Question, row_id)
    else:
        child = db.get(Review, row_id)
    if child is None:
        raise NotFound()
    return child.opportunity_id


# Which dependency declares which access: read back by declared_routes().
_DECLARED: dict[Callable[..., Any], Access] = {}


def allow(access: Access) -> Any:
    """The route dependency that declares and enforces ``access``."""
    if access.who is Who.SIGNED_WEBHOOK:
        _DECLARED[_signed_webhook] = access
        return Depends(_signed_webhook)

    def enforce(request: Request, db: DbSession, user: OptionalUser) -> None:
        if access.who is Who.PUBLIC:
            return
        if user is None:
            raise NotSignedIn()
        if access.who is Who.ADMIN and not user.is_admin:
            raise Forbidden()
        if access.who is Who.TEAM and not (access.admins_too and user.is_admin):
            team_id = _team_id(db, access, request)
            if not teams_repository.roles_of(db, user.id, team_id) & access.roles:
                raise Forbidden()
        if access.who is Who.OUTSIDE_TEAM:
            team_id = _team_id(db, access, request)
            if teams_repository.roles_of(db, user.id, team_id):
                raise Forbidden(
                    _("Members of the team that posted this opportunity cannot propose.")
                )

    _DECLARED[enforce] = access
    return Depends(enforce)


async def _signed_webhook() -> None:
    """No person and no database here: the route verifies the body's signature itself, first.
    (Kept free of dependencies: each one would cost a thread hop on the hottest route.)"""


# Routes FastAPI itself adds; they take no dependencies of ours.
FRAMEWORK_ROUTES: dict[str, Access] = {
    "/api/v1/openapi.json": PUBLIC,
}


@dataclass(frozen=True)
class DeclaredRoute:
    method: str
    path: str
    access: Access | None


def declared_routes(app: FastAPI) -> list[DeclaredRoute]:
    """Every (method, path) the app answers, with its declaration (None when it has none, or
    more than one). Static files are public by nature and not listed."""
    found = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if isinstance(context.original_route, Mount):
            continue
        access = FRAMEWORK_ROUTES.get(path) or _route_access(context.original_route)
        for method in sorted((context.methods or set()) - {"HEAD"}):
            found.append(DeclaredRoute(method, path, access))
    return found


def _route_access(route: BaseRoute) -> Access | None:
    if not isinstance(route, APIRoute):
        return None
    found: list[Access] = []
    _collect(route.dependant.dependencies, found)
    return found[0] if len(found) == 1 else None


def _collect(dependencies: list[Any], found: list[Access]) -> None:
    for dependency in dependencies:
        access = _DECLARED.get(dependency.call)
        if access is not None:
            found.append(access)
        _collect(dependency.dependencies, found)
