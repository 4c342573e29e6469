"""Demo teams, people and opportunities for `make run`. Idempotent: keyed on natural keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import Settings
from app.models import (
    Award,
    Opportunity,
    OpportunitySkill,
    Project,
    Proposal,
    Team,
    TeamMembership,
    User,
)
from app.models.base import utcnow
from app.opportunities.service import build_search_document

TEAMS = [
    (
        "forms",
        "Digital Forms Service",
        "Service des formulaires numériques",
        "Service Canada",
        "We build the accessible form builder that departments use to replace PDF forms.",
    ),
    (
        "open-data",
        "Open Data Platform",
        "Plateforme de données ouvertes",
        "Treasury Board",
        "We publish the government's open data catalogue and its public APIs.",
    ),
    (
        "notify",
        "Notification Service",
        "Service de notification",
        "Canadian Digital Service",
        "We send email and text messages for federal, provincial and municipal services.",
    ),
]

PROJECTS = [
    ("forms", "form-builder", "Form builder", "gc-demo/form-builder", 910001),
    ("forms", "form-viewer", "Form viewer", "gc-demo/form-viewer", 910002),
    ("open-data", "catalogue", "Open data catalogue", "gc-demo/open-data-catalogue", 910003),
    ("open-data", "api-gateway", "Public API gateway", "gc-demo/api-gateway", 910004),
    ("notify", "notify-api", "Notify API", "gc-demo/notify-api", 910005),
]

USERS = [
    # github_id, login, name, email, [(team, role)]
    (
        5001,
        "amelie-forms",
        "Amélie Tremblay",
        "amelie@forms.example.gc.ca",
        [("forms", "owner"), ("forms", "finance")],
    ),
    (
        5002,
        "raj-forms",
        "Raj Singh",
        "raj@forms.example.gc.ca",
        [("forms", "editor"), ("forms", "evaluator")],
    ),
    (5003, "li-data", "Li Wei", "li@data.example.gc.ca", [("open-data", "owner")]),
    (
        5004,
        "marc-notify",
        "Marc Gagnon",
        "marc@notify.example.gc.ca",
        [("notify", "owner"), ("notify", "finance")],
    ),
    (6001, "sam-dev", "Sam Developer", "sam@example.com", []),
    (6002, "noor-codes", "Noor Haddad", "noor@example.com", []),
    (7001, "ada-admin", "Ada Admin", "ada@platform.example.gc.ca", []),
]
ADMIN_LOGINS = {"ada-admin"}


@dataclass(frozen=True)
class DemoOpportunity:
    team: str
    project: str
    title: str
    title_fr: str
    problem: str
    criteria: str
    skills: tuple[str, ...]
    dollars: int
    state: str
    deadline_days: int  # relative to now; negative is in the past
    issue: int


_PROBLEM = (
    "People who use a screen reader tell us that **{what}**. This blocks them from completing "
    "the service on their own, and our support line receives calls about it every week.\n\n"
    "We are not prescribing a solution: tell us how you would fix it and how you would "
    "show that it is fixed."
)
_CRITERIA = (
    "- The problem described above no longer occurs, shown by an automated test.\n"
    "- Existing tests pass and the change is documented in the changelog.\n"
    "- The pull request closes the linked issue."
)

OPPORTUNITIES = [
    DemoOpportunity(
        "forms",
        "form-builder",
        "Announce validation errors to screen readers",
        "Annoncer les erreurs de validation aux lecteurs d'écran",
        "validation errors are not announced when a form is submitted",
        _CRITERIA,
        ("accessibility", "javascript", "react"),
        4500,
        "published",
        14,
        101,
    ),
    DemoOpportunity(
        "forms",
        "form-builder",
        "Keyboard support for reordering questions",
        "Réordonner les questions au clavier",
        "questions can only be reordered by dragging with a mouse",
        _CRITERIA,
        ("accessibility", "react"),
        6000,
        "published",
        21,
        102,
    ),
    DemoOpportunity(
        "forms",
        "form-viewer",
        "Save a partly completed form and resume later",
        "",
        "a long form cannot be saved and resumed later",
        _CRITERIA,
        ("typescript", "postgresql"),
        8500,
        "published",
        9,
        103,
    ),
    DemoOpportunity(
        "open-data",
        "catalogue",
        "Export search results as CSV",
        "Exporter les résultats de recherche en CSV",
        "search results cannot be downloaded for use in a spreadsheet",
        _CRITERIA,
        ("python", "django"),
        3000,
        "published",
        30,
        201,
    ),
    DemoOpportunity(
        "open-data",
        "api-gateway",
        "Rate-limit headers on every API response",
        "",
        "clients cannot tell how close they are to the rate limit",
        _CRITERIA,
        ("go", "api"),
        2500,
        "published",
        5,
        202,
    ),
    DemoOpportunity(
        "notify",
        "notify-api",
        "Retry failed SMS deliveries with backoff",
        "Réessayer les SMS échoués avec un délai croissant",
        "text messages that fail once are never retried",
        _CRITERIA,
        ("python", "flask", "celery"),
        7000,
        "published",
        12,
        301,
    ),
    DemoOpportunity(
        "notify",
        "notify-api",
        "French templates for delivery receipts",
        "Gabarits français pour les accusés de réception",
        "delivery receipts are only available in English",
        _CRITERIA,
        ("python", "i18n"),
        1500,
        "evaluating",
        -3,
        302,
    ),
    DemoOpportunity(
        "open-data",
        "catalogue",
        "Show dataset update frequency",
        "",
        "the catalogue does not say how often a dataset is updated",
        _CRITERIA,
        ("python", "django"),
        2000,
        "evaluating",
        -1,
        203,
    ),
    DemoOpportunity(
        "forms",
        "form-builder",
        "Fix focus loss after adding a question",
        "",
        "focus jumps to the top of the page after a question is added",
        _CRITERIA,
        ("accessibility", "react"),
        1800,
        "awarded",
        -10,
        104,
    ),
    DemoOpportunity(
        "open-data",
        "api-gateway",
        "OpenAPI description for the datasets API",
        "Description OpenAPI de l'API des jeux de données",
        "the datasets API has no machine-readable description",
        _CRITERIA,
        ("openapi", "python"),
        4000,
        "awarded",
        -7,
        204,
    ),
    DemoOpportunity(
        "notify",
        "notify-api",
        "Bounce handling for government email domains",
        "",
        "bounced emails to some government domains are not detected",
        _CRITERIA,
        ("python", "email"),
        5500,
        "in_progress",
        -20,
        303,
    ),
    DemoOpportunity(
        "forms",
        "form-viewer",
        "High-contrast mode for the form viewer",
        "Mode contraste élevé pour le lecteur de formulaires",
        "the form viewer ignores the system's high-contrast setting",
        _CRITERIA,
        ("css", "accessibility"),
        3200,
        "in_progress",
        -15,
        105,
    ),
    DemoOpportunity(
        "open-data",
        "catalogue",
        "Fix broken pagination in the catalogue API",
        "",
        "the last page of catalogue results repeats the previous page",
        _CRITERIA,
        ("python", "api"),
        1200,
        "merged",
        -30,
        205,
    ),
    DemoOpportunity(
        "notify",
        "notify-api",
        "Document the callback signature format",
        "",
        "service teams cannot verify our delivery callbacks",
        _CRITERIA,
        ("documentation", "security"),
        900,
        "merged",
        -25,
        304,
    ),
    DemoOpportunity(
        "forms",
        "form-builder",
        "Labels for icon-only buttons",
        "Étiquettes pour les boutons à icône seule",
        "icon-only buttons in the toolbar have no accessible name",
        _CRITERIA,
        ("accessibility", "html"),
        800,
        "paid",
        -60,
        106,
    ),
    DemoOpportunity(
        "open-data",
        "api-gateway",
        "Health check endpoint for the gateway",
        "",
        "our monitoring cannot tell whether the gateway is healthy",
        _CRITERIA,
        ("go", "operations"),
        1500,
        "paid",
        -45,
        206,
    ),
    DemoOpportunity(
        "notify",
        "notify-api",
        "Remove unused dependencies",
        "",
        "unused dependencies slow down security reviews",
        _CRITERIA,
        ("python", "security"),
        600,
        "cancelled",
        -40,
        305,
    ),
    DemoOpportunity(
        "forms",
        "form-viewer",
        "Print stylesheet for completed forms",
        "",
        "printed forms cut off long answers",
        _CRITERIA,
        ("css",),
        1000,
        "unsuccessful",
        -35,
        107,
    ),
    DemoOpportunity(
        "open-data",
        "catalogue",
        "Restore dataset download counts",
        "",
        "download counts stopped updating after the last release",
        _CRITERIA,
        ("python", "postgresql"),
        2200,
        "on_hold",
        -28,
        207,
    ),
    DemoOpportunity(
        "notify",
        "notify-api",
        "Plain-language error messages for the API",
        "Messages d'erreur en langage clair pour l'API",
        "API error messages use internal jargon",
        _CRITERIA,
        ("python", "writing"),
        2800,
        "draft",
        25,
        306,
    ),
    DemoOpportunity(
        "forms",
        "form-builder",
        "Autosave drafts of forms being built",
        "",
        "form authors lose work when their session expires",
        _CRITERIA,
        ("react", "typescript"),
        6500,
        "in_peer_review",
        30,
        108,
    ),
    DemoOpportunity(
        "open-data",
        "catalogue",
        "Bilingual search synonyms",
        "Synonymes de recherche bilingues",
        "searching in French misses datasets described only in English",
        _CRITERIA,
        ("search", "i18n"),
        5000,
        "draft",
        40,
        208,
    ),
]

PRIVATE_STATES = {"draft", "in_peer_review"}


def _get_or_create_team(session: Session, spec: tuple[str, str, str, str, str]) -> tuple[Team, int]:
    slug, name, name_fr, organization, description = spec
    team = session.scalars(select(Team).where(Team.slug == slug)).first()
    if team is not None:
        return team, 0
    team = Team(
        slug=slug,
        name=name,
        name_fr=name_fr,
        organization=organization,
        description=description,
        approved_at=utcnow(),
    )
    session.add(team)
    session.flush()
    return team, 1


def load_demo_data(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Creates what is missing; returns how many records it created."""
    now = now or utcnow()
    created = 0
    teams: dict[str, Team] = {}
    for spec in TEAMS:
        teams[spec[0]], new = _get_or_create_team(session, spec)
        created += new
    projects: dict[str, Project] = {}
    for team_slug, slug, name, repo, repo_id in PROJECTS:
        team = teams[team_slug]
        project = session.scalars(
            select(Project).where(Project.team_id == team.id, Project.slug == slug)
        ).first()
        if project is None:
            project = Project(
                team_id=team.id,
                slug=slug,
                name=name,
                description=f"{name} for {team.name}.",
                github_repository_id=repo_id,
                github_repository_full_name=repo,
            )
            session.add(project)
            created += 1
        projects[slug] = project
    for github_id, login, name, email, memberships in USERS:
        user = session.scalars(select(User).where(User.github_id == github_id)).first()
        if user is None:
            user = User(
                github_id=github_id,
                login=login,
                name=name,
                email=email,
                email_verified=True,
                is_admin=login in ADMIN_LOGINS,
                terms_version=settings.terms_version,
                terms_accepted_at=now,
            )
            session.add(user)
            session.flush()
            created += 1
            for team_slug, role in memberships:
                session.add(TeamMembership(team_id=teams[team_slug].id, user_id=user.id, role=role))
                created += 1
    session.flush()
    for opportunity in OPPORTUNITIES:
        created += _create_opportunity(session, settings, teams, projects, opportunity, now)
    return created


def _create_opportunity(
    session: Session,
    settings: Settings,
    teams: dict[str, Team],
    projects: dict[str, Project],
    spec: DemoOpportunity,
    now: datetime,
) -> int:
    team = teams[spec.team]
    exists = session.scalars(
        select(Opportunity.id).where(
            Opportunity.team_id == team.id, Opportunity.title == spec.title
        )
    ).first()
    if exists is not None:
        return 0
    project = projects[spec.project]
    # Deadlines fall on the hour, as a team would set them.
    deadline = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=spec.deadline_days)
    problem = _PROBLEM.format(what=spec.problem)
    opportunity = Opportunity(
        team_id=team.id,
        project_id=project.id,
        state=spec.state,
        title=spec.title,
        title_fr=spec.title_fr,
        problem_statement=problem,
        context_links=f"https://github.com/{project.github_repository_full_name}#readme",
        acceptance_criteria=spec.criteria,
        remote=True,
        amount_cents=spec.dollars * 100,
        currency=settings.currency,
        proposal_deadline=deadline,
        delivery_date=(deadline + timedelta(days=21)).date(),
        github_repository_id=project.github_repository_id,
        github_repository_full_name=project.github_repository_full_name,
        github_issue_number=spec.issue,
        license_spdx="MIT",
        search_document=build_search_document(
            spec.title, spec.title_fr, problem, spec.criteria, *spec.skills
        ),
        published_at=None if spec.state in PRIVATE_STATES else deadline - timedelta(days=21),
        created_at=deadline - timedelta(days=28),
    )
    session.add(opportunity)
    session.flush()
    session.add_all(OpportunitySkill(opportunity_id=opportunity.id, skill=s) for s in spec.skills)
    # Seeded straight into their state; the audit trail says so rather than inventing a history.
    audit.record(
        session,
        actor_user_id=None,
        action="opportunity.seeded",
        subject_type="opportunity",
        subject_id=opportunity.id,
        to_state=spec.state,
    )
    return 1 + _seed_proposals(session, opportunity, spec.state)


# What the proposals of an opportunity look like in each state, for the demo developers.
AFTER_DEADLINE = {"evaluating": "under_evaluation", "unsuccessful": "not_awarded"}
AWARDED_STATES = {"awarded", "in_progress", "merged", "paid", "on_hold"}
DEMO_BIDDERS = ("sam-dev", "noor-codes")


def _seed_proposals(session: Session, opportunity: Opportunity, state: str) -> int:
    """Two demo developers bid on everything past its deadline; in awarded work the first won."""
    if state not in AFTER_DEADLINE and state not in AWARDED_STATES:
        return 0
    bidders = session.scalars(
        select(User).where(User.login.in_(DEMO_BIDDERS)).order_by(User.login.desc())
    ).all()
    created = 0
    for position, bidder in enumerate(bidders):
        won = state in AWARDED_STATES and position == 0
        proposal_state = "awarded" if won else AFTER_DEADLINE.get(state, "not_awarded")
        proposal = Proposal(
            opportunity_id=opportunity.id,
            author_user_id=bidder.id,
            state=proposal_state,
            approach="I would reproduce the problem in a failing test, fix it in the smallest "
            "change that passes, and document it in the changelog.",
            experience="Accessibility fixes in two open-source form libraries.",
            links=f"https://github.com/{bidder.login}",
            price_cents=opportunity.amount_cents - 10_000 * position,
            currency=opportunity.currency,
            submitted_at=opportunity.proposal_deadline,
        )
        session.add(proposal)
        session.flush()
        created += 1
        if won:
            session.add(
                Award(
                    opportunity_id=opportunity.id,
                    proposal_id=proposal.id,
                    reason="Top-ranked proposal.",
                    awarded_at=utcnow(),
                    accept_by=utcnow() + timedelta(days=5),
                    accepted_at=None if state == "awarded" else utcnow(),
                )
            )
            created += 1
    return created
