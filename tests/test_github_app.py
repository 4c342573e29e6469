"""Repositories connected through the platform's GitHub App (issue 17): installation events in
any order, the team's claim confirmed by GitHub, what only the app's secret may sign, linking
an issue only where the team installed the app, and unpaid work that waits when a repository
leaves the installation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.config import Settings
from app.main import create_app
from app.models import (
    AuditEvent,
    GitHubInstallation,
    InstalledRepository,
    Opportunity,
    Team,
    User,
    WebhookDelivery,
)
from app.payonpull import tasks as payonpull_tasks
from tests.conftest import empty_all_tables
from tests.support.factories import draft_form, make_team, make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.github_app import APP_WEBHOOK_SECRET, app_settings, installation_event
from tests.support.pay_on_pull import (
    GITHUB_SECRET,
    REPO,
    REPO_ID,
    delivery_headers,
    in_progress_work,
    merged_payload,
    opportunity_of,
)
from tests.support.web import post_form, sign_in

INSTALLATION = 31_337
ORG, ORG_ID = "gc-demo", 7_001
INSTALLER = 8_001
MAPS, MAPS_ID = "gc-demo/maps", 424_243
DOCS, DOCS_ID = "gc-demo/docs", 424_244


@pytest.fixture
def app_config(settings: Settings, fake_github: FakeGitHub) -> Settings:
    return app_settings(settings, fake_github)


@pytest.fixture
def app_client(app_config: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(app_config), base_url="http://testserver") as test_client:
        yield test_client


def deliver(client: TestClient, event: str, body: bytes, delivery: str) -> int:
    headers = delivery_headers(body, delivery, event, secret=APP_WEBHOOK_SECRET)
    return client.post("/webhooks/github", content=body, headers=headers).status_code


def process_inbox(factory: sessionmaker[Session], config: Settings) -> None:
    payonpull_tasks.with_github(payonpull_tasks.process_inbox)(factory, config)


def claim_as(client: TestClient, user: User, team: Team) -> str:
    """The person starts from the team's GitHub page and comes back from GitHub's install
    page: where our setup page then sends them."""
    sign_in(client, user)
    to_github = client.get(f"/teams/{team.slug}/github/install", follow_redirects=False)
    assert to_github.status_code == 303
    state = parse_qs(urlsplit(to_github.headers["location"]).query)["state"][0]
    back = client.get(
        "/github/app/setup",
        params={"installation_id": INSTALLATION, "setup_action": "install", "state": state},
        follow_redirects=False,
    )
    assert back.status_code == 303, back.text
    return back.headers["location"]


@dataclass(frozen=True)
class Stored:
    """The installation as stored, in the terms the design gives it."""

    account: str
    team_id: int | None
    suspended: bool
    deleted: bool
    connected: frozenset[str]
    left: frozenset[str]


def stored(db: Session) -> Stored:
    db.expire_all()
    installation = db.get(GitHubInstallation, INSTALLATION)
    assert installation is not None
    rows = db.scalars(select(InstalledRepository)).all()
    return Stored(
        installation.account_login,
        installation.team_id,
        installation.suspended_at is not None,
        installation.deleted_at is not None,
        frozenset(r.full_name for r in rows if r.removed_at is None),
        frozenset(r.full_name for r in rows if r.removed_at is not None),
    )


# --- events in any order ---------------------------------------------------------------------

# Everything that happened on GitHub, in its true order: installed with two repositories by
# INSTALLER, one added, one removed, suspended and unsuspended; then GitHub delivers them in
# whatever order it likes, some twice, and the team member comes back from the install page
# at any point among them.
EVENTS = [
    installation_event(
        "created", INSTALLATION, sender_id=INSTALLER, repositories={REPO_ID: REPO, MAPS_ID: MAPS}
    ),
    installation_event("added", INSTALLATION, sender_id=INSTALLER, added={DOCS_ID: DOCS}),
    installation_event("removed", INSTALLATION, sender_id=INSTALLER, removed={MAPS_ID: MAPS}),
    installation_event("suspend", INSTALLATION, sender_id=INSTALLER),
    installation_event("unsuspend", INSTALLATION, sender_id=INSTALLER),
]
CLAIM = "claim"


def github_after_the_events(fake_github: FakeGitHub) -> None:
    for name, repository_id in ((REPO, REPO_ID), (MAPS, MAPS_ID), (DOCS, DOCS_ID)):
        fake_github.add_repository(name, repository_id)
    fake_github.install_app(INSTALLATION, ORG, ORG_ID, [REPO, DOCS])


@dataclass
class Scenario:
    client: TestClient
    engine: Engine
    db: Session
    factory: sessionmaker[Session]
    config: Settings

    def team_and_installer(self) -> tuple[Team, User]:
        team = make_team(self.db)
        installer = make_user(self.db, github_id=INSTALLER, roles={team: ["owner"]})
        self.db.commit()
        return team, installer

    def play(self, order: list[int | str]) -> None:
        team, installer = self.team_and_installer()
        for n, step in enumerate(order):
            if step == CLAIM:
                claim_as(self.client, installer, team)
            else:
                assert isinstance(step, int)
                event, body = EVENTS[step]
                assert deliver(self.client, event, body, f"d-{n}") == 202
                process_inbox(self.factory, self.config)


@pytest.fixture
def scenario(
    app_client: TestClient,
    engine: Engine,
    db: Session,
    factory: sessionmaker[Session],
    app_config: Settings,
) -> Scenario:
    return Scenario(app_client, engine, db, factory, app_config)


DELETED = len(EVENTS)
EVENTS.append(installation_event("deleted", INSTALLATION, sender_id=INSTALLER))


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[bool, list[int | str]]:
    """Whether GitHub now has the app uninstalled, and the order in which the events (the
    uninstall among them, if so) and the person's return from the install page arrive; some
    deliveries come twice (GitHub redelivers), at any later point."""
    uninstalled = draw(st.booleans())
    steps: list[int | str] = [*range(DELETED), CLAIM] + ([DELETED] if uninstalled else [])
    order = draw(st.permutations(steps))
    again = draw(st.lists(st.sampled_from([s for s in order if s != CLAIM]), max_size=3))
    return uninstalled, [*order, *again]


@hypothesis_settings(
    max_examples=24,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=deliveries())
def test_installation_events_in_any_order_end_in_what_github_has(
    scenario: Scenario, fake_github: FakeGitHub, case: tuple[bool, list[int | str]]
) -> None:
    uninstalled, order = case
    scenario.db.rollback()  # the last example's reads hold locks the emptying waits for
    empty_all_tables(scenario.engine)
    scenario.client.cookies.clear()
    github_after_the_events(fake_github)
    if uninstalled:
        del fake_github.installations[INSTALLATION]
    scenario.play(order)
    team_id = scenario.db.scalar(select(Team.id))
    assert stored(scenario.db) == Stored(
        account="" if uninstalled else ORG,
        team_id=team_id,
        suspended=False,
        deleted=uninstalled,
        connected=frozenset() if uninstalled else frozenset({REPO, DOCS}),
        left=frozenset(),
    )
    # Connected once, whichever half came last.
    connected = select(func.count()).where(AuditEvent.action == "github.installation_connected")
    assert scenario.db.scalar(connected) == 1


# --- who may connect an installation -------------------------------------------------------


def test_someone_who_did_not_install_it_cannot_connect_it(
    scenario: Scenario, fake_github: FakeGitHub, db: Session
) -> None:
    """A return address with someone else's installation id, forged or replayed, connects
    nothing: GitHub's signed event names another installer."""
    github_after_the_events(fake_github)
    team = make_team(db)
    intruder = make_user(db, github_id=INSTALLER + 1, roles={team: ["owner"]})
    db.commit()
    claim_as(scenario.client, intruder, team)
    event, body = EVENTS[0]
    deliver(scenario.client, event, body, "d-created")
    process_inbox(scenario.factory, scenario.config)
    assert stored(db).team_id is None
    page = scenario.client.get(f"/teams/{team.slug}/github")
    assert "Waiting for GitHub to confirm who installed the app" in page.text


def test_a_state_made_for_another_person_is_refused(
    scenario: Scenario, fake_github: FakeGitHub, db: Session
) -> None:
    github_after_the_events(fake_github)
    team, installer = scenario.team_and_installer()
    sign_in(scenario.client, installer)
    to_github = scenario.client.get(f"/teams/{team.slug}/github/install", follow_redirects=False)
    state = parse_qs(urlsplit(to_github.headers["location"]).query)["state"][0]
    other = make_user(db, roles={team: ["owner"]})
    db.commit()
    sign_in(scenario.client, other)
    back = scenario.client.get(
        "/github/app/setup", params={"installation_id": INSTALLATION, "state": state}
    )
    assert back.status_code == 422
    assert "expired or is not yours" in back.text
    assert db.scalar(select(func.count()).select_from(GitHubInstallation)) == 0


# --- what signs a delivery --------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [GITHUB_SECRET, "another-apps-webhook-secret"],
    ids=["old per-repository secret", "another app's secret"],
)
def test_only_the_apps_secret_signs_deliveries(
    app_client: TestClient, db: Session, secret: str
) -> None:
    body = merged_payload()
    headers = delivery_headers(body, "d-forged", "pull_request", secret=secret)
    response = app_client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 401
    assert db.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    signed = delivery_headers(body, "d-app", "pull_request", secret=APP_WEBHOOK_SECRET)
    assert app_client.post("/webhooks/github", content=body, headers=signed).status_code == 202


# --- linking an issue -----------------------------------------------------------------------


def connected_team(scenario: Scenario, fake_github: FakeGitHub) -> tuple[Team, User]:
    github_after_the_events(fake_github)
    team, installer = scenario.team_and_installer()
    event, body = EVENTS[0]
    deliver(scenario.client, event, body, "d-created")
    process_inbox(scenario.factory, scenario.config)
    assert claim_as(scenario.client, installer, team).endswith("notice=installed")
    return team, installer


def draft_with_issue(client: TestClient, team: Team, url: str) -> str:
    form = draft_form(github_issue_url=url, title=url)
    response = post_form(client, f"/teams/{team.slug}/opportunities/new", form)
    assert response.status_code == 303, response.text  # saved, the link unverified if need be
    return client.get(response.headers["location"]).text


def test_an_issue_links_only_where_the_team_installed_the_app(
    scenario: Scenario, fake_github: FakeGitHub, db: Session
) -> None:
    team, _installer = connected_team(scenario, fake_github)
    fake_github.add_issue(REPO, 12)
    fake_github.add_issue(MAPS, 3)  # removed from the installation before we heard of it
    draft_with_issue(scenario.client, team, f"https://github.com/{MAPS}/issues/3")
    draft_with_issue(scenario.client, team, f"https://github.com/{REPO}/issues/12")
    linked = {
        o.github_repository_full_name: o.github_repository_id
        for o in db.scalars(select(Opportunity)).all()
    }
    assert linked == {MAPS: None, REPO: REPO_ID}


def test_another_teams_installation_does_not_link_an_issue(
    scenario: Scenario, fake_github: FakeGitHub, db: Session
) -> None:
    connected_team(scenario, fake_github)
    other = make_team(db)
    author = make_user(db, roles={other: ["owner"]})
    db.commit()
    fake_github.add_issue(REPO, 12)
    sign_in(scenario.client, author)
    page = draft_with_issue(scenario.client, other, f"https://github.com/{REPO}/issues/12")
    assert "The Dev Exchange GitHub App is not installed on gc-demo/forms" in page
    assert db.scalar(select(Opportunity.github_repository_id)) is None


# --- a repository that leaves ---------------------------------------------------------------


def test_a_repository_that_leaves_holds_its_unpaid_work_with_a_reason(
    scenario: Scenario,
    fake_github: FakeGitHub,
    fake_stripe: FakeStripe,
    db: Session,
    app_config: Settings,
) -> None:
    work, _events = in_progress_work(db, app_config, fake_stripe, fake_github)
    installer = make_user(db, github_id=INSTALLER, roles={work.team: ["editor"]})
    db.commit()
    github_after_the_events(fake_github)
    event, body = EVENTS[0]
    deliver(scenario.client, event, body, "d-created")
    claim_as(scenario.client, installer, work.team)
    # The team takes the repository out of the installation on GitHub.
    fake_github.installations[INSTALLATION].repositories = [DOCS]
    event, body = EVENTS[2]  # "removed": GitHub's event names another repository; we ask
    deliver(scenario.client, event, body, "d-removed")
    process_inbox(scenario.factory, app_config)
    assert opportunity_of(db, work).state == "on_hold"
    assert stored(db).left == {REPO}
    reason = "the repository left the GitHub App installation"
    # The team sees it on its page, its GitHub page and the work's page...
    assert (
        "can no longer reach gc-demo/forms" in scenario.client.get(f"/teams/{work.team.slug}").text
    )
    github_page = scenario.client.get(f"/teams/{work.team.slug}/github").text
    assert "Left the installation on" in github_page
    work_page = scenario.client.get(f"/opportunities/{work.opportunity_id}").text
    assert "left the GitHub App installation on" in work_page
    # ...and the administrators, in their queue, with the reason.
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(scenario.client, admin)
    assert reason in scenario.client.get("/admin/attention").text
    # A merge webhook for it now cannot pay it: it waits for an administrator.
    merge = merged_payload()
    deliver(scenario.client, "pull_request", merge, "d-merge")
    process_inbox(scenario.factory, app_config)
    assert opportunity_of(db, work).state == "on_hold"


def test_the_periodic_check_finds_a_repository_that_left_without_an_event(
    scenario: Scenario,
    fake_github: FakeGitHub,
    fake_stripe: FakeStripe,
    db: Session,
    app_config: Settings,
) -> None:
    """GitHub's event never came (lost, or sent while we were away): the slow job loop reads
    every installation again and holds the work all the same."""
    work, _events = in_progress_work(db, app_config, fake_stripe, fake_github)
    github_after_the_events(fake_github)
    event, body = EVENTS[0]
    deliver(scenario.client, event, body, "d-created")
    process_inbox(scenario.factory, app_config)
    fake_github.installations[INSTALLATION].suspended = True
    jobs.run_slow_jobs_once(scenario.factory, app_config)
    assert opportunity_of(db, work).state == "on_hold"
    assert stored(db).suspended
