"""Demo teams, people and opportunities for `make run`. Idempotent: keyed on natural keys.

Each opportunity reaches its state through the services the site itself uses, in the order
people and jobs would take it there: a draft, publishing, proposals, the deadline job,
declarations and scores, the award to the top of the ranking, acceptance, the payout account,
funding through the simulated gateway, the merge, a hold, the transfer. So every state has the
facts behind it (proposals, scores, payouts, ledger lines, audit events). The only things
written by hand are times, before the service that reads them runs: a past deadline, and when
the opportunity was drafted and published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.delivery import service as delivery
from app.evaluations import service as evaluations
from app.github.client import GitHubClient
from app.github.tasks import MAX_COMMENT_ATTEMPTS
from app.i18n import N_
from app.models import (
    EmailState,
    IssueComment,
    Notification,
    Opportunity,
    OpportunityState,
    Project,
    Team,
    TeamMembership,
    TeamRole,
    User,
)
from app.models.base import utcnow
from app.opportunities import service as opportunities
from app.opportunities.schemas import DraftIn
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payments.gateway import Gateway, gateway_for
from app.payonpull import service as payonpull
from app.proposals import repository as proposals_repository
from app.proposals import service as proposals
from app.reviews import service as reviews

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
        [("forms", TeamRole.OWNER), ("forms", TeamRole.FINANCE)],
    ),
    (
        5002,
        "raj-forms",
        "Raj Singh",
        "raj@forms.example.gc.ca",
        [("forms", TeamRole.EDITOR), ("forms", TeamRole.EVALUATOR), ("forms", TeamRole.APPROVER)],
    ),
    (
        5003,
        "li-data",
        "Li Wei",
        "li@data.example.gc.ca",
        [("open-data", TeamRole.OWNER), ("open-data", TeamRole.FINANCE)],
    ),
    (
        5004,
        "marc-notify",
        "Marc Gagnon",
        "marc@notify.example.gc.ca",
        [("notify", TeamRole.OWNER), ("notify", TeamRole.FINANCE)],
    ),
    (
        5005,
        "priya-data",
        "Priya Natarajan",
        "priya@data.example.gc.ca",
        [("open-data", TeamRole.EVALUATOR), ("open-data", TeamRole.APPROVER)],
    ),
    (
        5006,
        "jean-notify",
        "Jean Dubois",
        "jean@notify.example.gc.ca",
        [
            ("notify", TeamRole.EDITOR),
            ("notify", TeamRole.EVALUATOR),
            ("notify", TeamRole.APPROVER),
        ],
    ),
    (6001, "sam-dev", "Sam Developer", "sam@example.com", []),
    (6002, "noor-codes", "Noor Haddad", "noor@example.com", []),
    (6003, "kofi-codes", "Kofi Mensah", "kofi@example.com", []),
    (7001, "ada-admin", "Ada Admin", "ada@platform.example.gc.ca", []),
    # Releasing a held payment takes two administrators.
    (7002, "bea-admin", "Bea Okafor", "bea@platform.example.gc.ca", []),
]
ADMIN_LOGINS = {"ada-admin", "bea-admin"}
# Demo approvers may sign off anything up to the platform's default cap ($9,999.00).
DEMO_APPROVER_LIMIT_CENTS = 999_900
S = OpportunityState


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
    state: OpportunityState
    deadline_days: int  # relative to now; negative is in the past
    issue: int
    # Who proposed, the evaluators' favourite first (the award goes to the top of the ranking).
    bidders: tuple[str, ...] = ()
    accepted: bool = True  # whether the awardee has accepted the contract
    reason: str = ""  # why it was cancelled or closed without award, as the team said


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
        S.PUBLISHED,
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
        S.PUBLISHED,
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
        S.PUBLISHED,
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
        S.PUBLISHED,
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
        S.PUBLISHED,
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
        S.PUBLISHED,
        12,
        301,
        bidders=("kofi-codes",),
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
        S.EVALUATING,
        -3,
        302,
        bidders=("noor-codes", "sam-dev"),
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
        S.EVALUATING,
        -1,
        203,
        bidders=("sam-dev", "kofi-codes"),
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
        S.AWARDED,
        -10,
        104,
        bidders=("sam-dev", "noor-codes"),
        accepted=False,
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
        S.AWARDED,
        -7,
        204,
        bidders=("kofi-codes", "sam-dev"),
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
        S.IN_PROGRESS,
        -20,
        303,
        bidders=("noor-codes", "kofi-codes"),
    ),
    DemoOpportunity(
        "notify",
        "notify-api",
        "Retry failed text messages",
        "Relancer les messages texte en échec",
        "text messages that fail once are never sent again",
        _CRITERIA,
        ("python", "sms"),
        2600,
        S.MISSED_DELIVERY,  # its delivery date, 21 days after the deadline, has passed
        -40,
        307,
        bidders=("sam-dev", "noor-codes"),
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
        S.IN_PROGRESS,
        -15,
        105,
        bidders=("kofi-codes", "noor-codes", "sam-dev"),
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
        S.MERGED,
        -30,
        205,
        bidders=("noor-codes", "sam-dev"),
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
        S.MERGED,
        -25,
        304,
        bidders=("kofi-codes", "noor-codes"),
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
        S.PAID,
        -60,
        106,
        bidders=("noor-codes", "sam-dev"),
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
        S.PAID,
        -45,
        206,
        bidders=("kofi-codes", "noor-codes"),
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
        S.CANCELLED,
        -40,
        305,
        reason="The framework upgrade removed these dependencies already.",
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
        S.UNSUCCESSFUL,
        -35,
        107,
        bidders=("sam-dev", "noor-codes"),
        reason="Both proposals restyle every printed page; we will post narrower work.",
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
        S.ON_HOLD,
        -28,
        207,
        bidders=("noor-codes", "kofi-codes"),
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
        S.DRAFT,
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
        S.IN_PEER_REVIEW,
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
        S.DRAFT,
        40,
        208,
    ),
]

# A verified merge waits this long before its payment leaves (the release-delay setting), so
# the demo's merged work stays merged for a while instead of being paid at once.
MERGED_RELEASE_DELAY = timedelta(days=7)
# The evaluators' scores (0-5, every person-scored criterion) and the prices (per cent of the
# budget), by the bidder's place in DemoOpportunity.bidders: the favourite ranks first whatever
# the prices, since quality outweighs price in the default rubric.
SCORES = (5, 3, 2)
COMMENTS = (
    "Reproduces the problem in a failing test first, and keeps the change small.",
    "A reasonable plan, with less detail on how the fix is shown to work.",
    "Does not say how the fix would be tested.",
)
PRICE_PERCENT = (90, 80, 100)
# What a failed merge verification records when the awardee merged their own pull request
# (payonpull.verification.verify_merge): the demo's held work was held for it.
SELF_MERGE = N_("the pull request was merged by its author, the awardee")


@dataclass(frozen=True)
class Demo:
    """What every step needs: the session, the settings, the gateway, the demo's people."""

    session: Session
    settings: Settings
    gateway: Gateway
    github: GitHubClient
    people: dict[str, User]
    teams: dict[str, Team]
    projects: dict[str, Project]
    now: datetime

    def member(self, team: str, role: TeamRole) -> User:
        """The team's first demo member with the role."""
        for _github_id, login, _name, _email, memberships in USERS:
            if (team, role) in memberships:
                return self.people[login]
        raise LookupError(f"no {role} in the demo team {team}")


def load_demo_data(session: Session, settings: Settings) -> int:
    """Creates what is missing; returns how many teams, projects, people, roles and
    opportunities it created."""
    # The demo's money is always simulated: no real payment stands behind it, and its payouts
    # say so, whatever gateway the site is configured with.
    simulated = settings.model_copy(update={"stripe_secret_key": "", "stripe_webhook_secret": ""})
    created, teams, projects, people = _people_and_teams(session, settings)
    session.flush()
    # Never called: the demo's repositories are fictional, so their issues are linked by hand.
    with GitHubClient.from_settings(settings) as github:
        demo = Demo(
            session,
            simulated,
            gateway_for(simulated),
            github,
            people,
            teams,
            projects,
            utcnow(),
        )
        first_new = session.scalar(select(func.max(Notification.id))) or 0
        for spec in OPPORTUNITIES:
            created += _create_opportunity(demo, spec)
    _keep_mail_in_the_site(session, first_new)
    return created


def _people_and_teams(
    session: Session, settings: Settings
) -> tuple[int, dict[str, Team], dict[str, Project], dict[str, User]]:
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
    people: dict[str, User] = {}
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
                terms_accepted_at=utcnow(),
            )
            session.add(user)
            session.flush()
            created += 1
        people[login] = user
        for team_slug, role in memberships:
            created += _ensure_role(session, teams[team_slug], user, role)
    return created, teams, projects, people


def _ensure_role(session: Session, team: Team, user: User, role: TeamRole) -> int:
    """Roles are added to demo people who lack them (an older demo gave fewer)."""
    held = session.scalars(
        select(TeamMembership.id).where(
            TeamMembership.team_id == team.id,
            TeamMembership.user_id == user.id,
            TeamMembership.role == role,
        )
    ).first()
    if held is not None:
        return 0

    limit = DEMO_APPROVER_LIMIT_CENTS if role is TeamRole.APPROVER else None
    session.add(
        TeamMembership(team_id=team.id, user_id=user.id, role=role, spending_limit_cents=limit)
    )
    session.flush()
    return 1


def _create_opportunity(demo: Demo, spec: DemoOpportunity) -> int:
    team = demo.teams[spec.team]
    exists = demo.session.scalars(
        select(Opportunity.id).where(
            Opportunity.team_id == team.id, Opportunity.title == spec.title
        )
    ).first()
    if exists is not None:
        return 0
    owner = demo.member(spec.team, TeamRole.OWNER)
    opportunity = _draft(demo, spec, owner)
    _take_to_its_state(demo, spec, opportunity, owner)
    if opportunity.state != spec.state:
        raise RuntimeError(f"the demo's {spec.title!r} ended {opportunity.state}, not {spec.state}")
    _keep_narration_off_github(demo.session, opportunity)
    return 1


def _take_to_its_state(
    demo: Demo, spec: DemoOpportunity, opportunity: Opportunity, owner: User
) -> None:
    """Each state is a step further along the same road; a spec stops at its own."""
    state = spec.state
    if state is S.DRAFT:
        return
    if state is S.IN_PEER_REVIEW:
        reviews.request_review(demo.session, opportunity, owner, logins=[])
        return
    # The owner wrote the draft; the team's approver signs it off, which publishes it.
    approver = demo.member(spec.team, TeamRole.APPROVER)
    opportunities.publish(demo.session, opportunity, actor=approver, settings=demo.settings)
    if spec.deadline_days > 0:
        _propose(demo, spec, opportunity, demo.now)  # sealed until the deadline
        return
    _close_at_past_deadline(demo, spec, opportunity)
    if state is S.CANCELLED:
        payonpull.cancel(demo.session, opportunity, actor=owner, reason=spec.reason)
        return
    _evaluate(demo, spec, opportunity, complete=state is not S.EVALUATING)
    if state is S.EVALUATING:
        return
    if state is S.UNSUCCESSFUL:
        evaluations.close_unsuccessful(demo.session, opportunity, owner, spec.reason)
        return
    awardee = _award_top_ranked(demo, opportunity, owner)
    if not spec.accepted:
        return
    payonpull.accept_award(demo.session, opportunity, awardee)
    _set_up_payout_account(demo, awardee)
    if state is S.AWARDED:
        return  # accepted; the team has not paid yet
    _fund(demo, spec, opportunity)
    if state is S.MISSED_DELIVERY:
        delivery.watch(demo.session, opportunity, demo.now)  # past the date, nothing merged
    elif state is S.ON_HOLD:
        _hold_self_merge(demo, spec, opportunity, awardee)
    elif state in (S.MERGED, S.PAID):
        _merge_and_pay(demo, opportunity, owner, paid=state is S.PAID)


def _draft(demo: Demo, spec: DemoOpportunity, owner: User) -> Opportunity:
    project = demo.projects[spec.project]
    problem = _PROBLEM.format(what=spec.problem)
    # A future deadline, as the form requires; one in the past is set once it is published.
    deadline = _deadline(demo, max(spec.deadline_days, 1))
    data = DraftIn(
        project=spec.project,
        title=spec.title,
        title_fr=spec.title_fr,
        problem_statement=problem,
        context_links=[f"https://github.com/{project.github_repository_full_name}#readme"],
        acceptance_criteria=spec.criteria,
        skills=list(spec.skills),
        amount_cents=spec.dollars * 100,
        proposal_deadline=deadline,
        delivery_date=(deadline + timedelta(days=21)).date(),
        license_spdx="MIT",
    )
    opportunity, _unverified = opportunities.create_draft(
        demo.session, spec.team, data, actor=owner, settings=demo.settings, github=demo.github
    )
    # What verifying the issue link stores; the demo's repositories are not on GitHub.
    opportunity.github_repository_id = project.github_repository_id
    opportunity.github_repository_full_name = project.github_repository_full_name
    opportunity.github_issue_number = spec.issue
    opportunity.github_default_branch = "main"
    demo.session.flush()
    return opportunity


def _deadline(demo: Demo, days: int) -> datetime:
    """Deadlines fall on the hour, as a team would set them."""
    return demo.now.replace(minute=0, second=0, microsecond=0) + timedelta(days=days)


def _close_at_past_deadline(demo: Demo, spec: DemoOpportunity, opportunity: Opportunity) -> None:
    """The opportunity's times move back (drafted four weeks and published three weeks before
    its deadline), proposals arrive two days before that deadline, and the deadline job closes
    it, as it would have then."""
    deadline = _deadline(demo, spec.deadline_days)
    opportunity.created_at = deadline - timedelta(days=28)
    opportunity.published_at = deadline - timedelta(days=21)
    opportunity.proposal_deadline = deadline
    opportunity.delivery_date = (deadline + timedelta(days=21)).date()
    demo.session.flush()
    _propose(demo, spec, opportunity, deadline - timedelta(days=2))
    opportunities.close_past_deadlines(demo.session, demo.now)


def _propose(demo: Demo, spec: DemoOpportunity, opportunity: Opportunity, at: datetime) -> None:
    for place, login in enumerate(spec.bidders):
        data = proposals.ProposalInput(
            approach="I would reproduce the problem in a failing test, fix it in the smallest "
            "change that passes, and document it in the changelog.",
            experience="Accessibility and reliability fixes in open-source libraries.",
            links=f"https://github.com/{login}",
            price_cents=spec.dollars * PRICE_PERCENT[place],
            delivery_date=None,
            accept_terms=True,
            attest_eligibility=True,
        )
        proposals.save(
            demo.session,
            opportunity,
            demo.people[login],
            data,
            submit=True,
            settings=demo.settings,
            now=at + timedelta(hours=place),
        )


def _evaluate(
    demo: Demo, spec: DemoOpportunity, opportunity: Opportunity, *, complete: bool
) -> None:
    """The team's evaluator declares no conflict and scores every proposal (only the first
    while evaluation is still going on)."""
    if not spec.bidders:
        return
    evaluator = demo.member(spec.team, TeamRole.EVALUATOR)
    evaluations.declare(demo.session, opportunity, evaluator, has_conflict=False, note="")
    demo.session.flush()  # the site commits between one request and the next
    criteria = [c for c in evaluations.rubric_of(demo.session, opportunity) if not c.is_price]
    # In the order they arrived, which is the order of spec.bidders (see _propose).
    received = [p for p, _author in proposals_repository.received(demo.session, opportunity.id)]
    for place, proposal in enumerate(received if complete else received[:1]):
        scores: dict[str, tuple[int | None, str]] = {
            c.key: (SCORES[place], COMMENTS[place]) for c in criteria
        }
        evaluations.score(demo.session, proposal.id, evaluator, scores, submit=True)


def _award_top_ranked(demo: Demo, opportunity: Opportunity, owner: User) -> User:
    """The award goes to the top of the documented ranking, so its public reason is true."""
    first = evaluations.consensus(demo.session, opportunity)[0]
    evaluations.award(demo.session, opportunity, owner, first.proposal.id, "", demo.settings)
    return first.author


def _set_up_payout_account(demo: Demo, developer: User) -> None:
    """The developer's one click on "Set up your payout account", and the return from it."""
    base = demo.settings.base_url
    payments.connect_account(
        demo.session,
        demo.gateway,
        developer,
        return_url=f"{base}/account/payouts/return",
        refresh_url=f"{base}/account/payouts",
    )
    account = payments_repository.account_of(demo.session, developer.id)
    assert account is not None
    payments.refresh_account(demo.session, demo.gateway, account, follow=payonpull.follow_payout)


def _fund(demo: Demo, spec: DemoOpportunity, opportunity: Opportunity) -> None:
    """The finance person pays on the simulated checkout; the return from it confirms the
    payment, and the work starts."""
    finance = demo.member(spec.team, TeamRole.FINANCE)
    payments.sign_off_funding(demo.session, opportunity, demo.member(spec.team, TeamRole.APPROVER))
    payments.start_funding(demo.session, demo.gateway, opportunity, finance, demo.settings)
    payments.confirm_funding(
        demo.session, demo.gateway, opportunity, follow=payonpull.follow_payout
    )


def _hold_self_merge(
    demo: Demo, spec: DemoOpportunity, opportunity: Opportunity, awardee: User
) -> None:
    """The awardee merged their own pull request: verification holds the payment for an
    administrator, with the evidence it read (payonpull.service.settle_merge)."""
    project = demo.projects[spec.project]
    evidence = {
        "pull_request": spec.issue + 40,
        "author_id": awardee.github_id,
        "merged_by_id": awardee.github_id,
        "base_repository_id": project.github_repository_id,
        "base_ref": "main",
        "default_branch": "main",
        "merged": True,
    }
    payonpull.hold_work(demo.session, opportunity, [SELF_MERGE], evidence)


def _merge_and_pay(demo: Demo, opportunity: Opportunity, owner: User, *, paid: bool) -> None:
    """The merge, as the local "Simulate the merged pull request" button plays it; paid work
    then goes through the transfer job's step."""
    delay = timedelta(0) if paid else MERGED_RELEASE_DELAY
    payonpull.merged(
        demo.session, opportunity, {"simulated": True}, actor=owner, release_delay=delay
    )
    if paid:
        payout = payments_repository.payout_for(demo.session, opportunity.id)
        assert payout is not None
        payments.send_transfer(demo.session, demo.gateway, payout, follow=payonpull.follow_payout)


def _keep_narration_off_github(session: Session, opportunity: Opportunity) -> None:
    """The demo's issues are fictional: what the service would say on them is set aside, as
    the posting job sets aside a comment whose issue GitHub cannot find."""
    session.execute(
        update(IssueComment)
        .where(IssueComment.opportunity_id == opportunity.id, IssueComment.posted_at.is_(None))
        .values(attempts=MAX_COMMENT_ATTEMPTS)
    )


def _keep_mail_in_the_site(session: Session, first_new: int) -> None:
    """The demo's people are fictional: what the site tells them stays on their notifications
    page, and is not emailed (the sending job skips it, as for a person without an address)."""
    session.execute(
        update(Notification)
        .where(Notification.id > first_new, Notification.email_state == EmailState.PENDING)
        .values(email_state=EmailState.SKIPPED)
    )


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
