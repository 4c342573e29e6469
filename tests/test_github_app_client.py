"""The GitHub client layer of issue 17: the App's installation tokens (one fetch however many
ask, renewed before they expire), which token each call carries, conditional requests, rate
limits and pagination; against the fake GitHub over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx2
import pytest
import time_machine
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.config import Settings
from app.github import narration
from app.github import tasks as github_tasks
from app.github.app_auth import InstallationTokens
from app.github.client import (
    CachedAnswer,
    EtagCache,
    GitHubClient,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubUnauthorized,
    RateLimits,
)
from app.github.service import IssueLinkError, parse_issue_url, verify_issue
from app.models import IssueComment, WebhookDelivery
from app.payonpull import tasks as payonpull_tasks
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.pay_on_pull import (
    PULL,
    REPO,
    awarded_work,
    delivery_headers,
    in_progress_work,
    merged_payload,
    opportunity_of,
    start_work,
)

INSTALLATION, ACCOUNT_ID = 31, 9100
OTHER = "someone/else"


@pytest.fixture
def fake(fake_github: FakeGitHub) -> Iterator[FakeGitHub]:
    """The fake, emptied, with our repository installed and another one not."""
    fake_github.reset()
    fake_github.add_repository(REPO, 1)
    fake_github.add_repository(OTHER, 2)
    fake_github.add_issue(REPO, 12)
    fake_github.install_app(INSTALLATION, "gc-demo", ACCOUNT_ID, [REPO])
    yield fake_github
    fake_github.reset()


@pytest.fixture
def tokens(fake: FakeGitHub) -> Iterator[InstallationTokens]:
    app_tokens = InstallationTokens(fake.url, fake.app_id, fake.app_private_key_pem)
    yield app_tokens
    app_tokens.close()


class InstalledRepositories:
    """The lead's mapping from repository to installation, as the client sees it: one
    installation holding our repository."""

    def __init__(self, tokens: InstallationTokens) -> None:
        self.tokens = tokens

    def for_repository(self, full_name: str) -> str | None:
        return self.tokens.token(INSTALLATION) if full_name.lower() == REPO else None

    def refused(self, token: str) -> None:
        self.tokens.forget_token(token)


def test_two_hundred_threads_asking_at_once_share_one_token_fetch(
    fake: FakeGitHub, tokens: InstallationTokens
) -> None:
    start = threading.Barrier(200)

    def ask(_n: int) -> str:
        start.wait(timeout=60)
        return tokens.token(INSTALLATION)

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = list(pool.map(ask, range(200)))
    assert len(set(answers)) == 1
    assert fake.token_fetches == {INSTALLATION: 1}


def test_a_token_is_renewed_once_five_minutes_before_it_expires(
    fake: FakeGitHub, tokens: InstallationTokens
) -> None:
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        first = tokens.token(INSTALLATION)
        clock.move_to(datetime(2026, 12, 1, 9, 54, 59, tzinfo=UTC))  # expires at 10:00
        assert tokens.token(INSTALLATION) == first
        clock.move_to(datetime(2026, 12, 1, 9, 55, 1, tzinfo=UTC))
        second = tokens.token(INSTALLATION)
        assert tokens.token(INSTALLATION) == second != first
    assert fake.token_fetches == {INSTALLATION: 2}


def test_forgetting_a_token_fetches_a_new_one(fake: FakeGitHub, tokens: InstallationTokens) -> None:
    first = tokens.token(INSTALLATION)
    tokens.forget(INSTALLATION)
    assert tokens.token(INSTALLATION) != first
    assert fake.token_fetches == {INSTALLATION: 2}


def test_an_expired_token_is_refused_as_unauthorized(
    fake: FakeGitHub, tokens: InstallationTokens
) -> None:
    client = GitHubClient(fake.url, etags=None)
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        token = tokens.token(INSTALLATION)
        clock.move_to(datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC))
        with pytest.raises(GitHubUnauthorized):
            client.get_as(f"/repos/{REPO}", token)
    client.close()


def test_a_jwt_signed_with_another_key_is_refused(fake: FakeGitHub) -> None:
    other_key = RSAKey.generate_key(2048).as_pem(private=True).decode()
    for app_id, key in ((fake.app_id, other_key), ("1", fake.app_private_key_pem)):
        strangers = InstallationTokens(fake.url, app_id, key)
        with pytest.raises(GitHubUnauthorized):
            strangers.token(INSTALLATION)
        strangers.close()
    assert fake.token_fetches == {}


def test_an_unreadable_private_key_is_an_error_that_does_not_show_it(fake: FakeGitHub) -> None:
    broken = InstallationTokens(fake.url, fake.app_id, "-----BEGIN PRIVATE KEY-----\nsecret-ish")
    with pytest.raises(GitHubError) as raised:
        broken.token(INSTALLATION)
    broken.close()
    assert "secret-ish" not in str(raised.value)


def test_the_app_reads_its_installation_and_every_page_of_its_repositories(
    fake: FakeGitHub, tokens: InstallationTokens
) -> None:
    names = [f"gc-demo/repo-{n}" for n in range(130)]
    fake.install_app(40, "gc-demo", ACCOUNT_ID, names, suspended=True)
    fake.install_app(41, "gc-demo", ACCOUNT_ID, names)
    installation = tokens.get_installation(40)
    assert installation["account"] == {"login": "gc-demo", "id": ACCOUNT_ID, "type": "Organization"}
    assert installation["suspended_at"] is not None
    assert installation["app_slug"] == fake.app_slug
    repositories = tokens.installation_repositories(41)
    assert [r["full_name"] for r in repositories] == names
    pages = [c for c in fake.calls if c.path == "/installation/repositories"]
    assert len(pages) == 2
    with pytest.raises(GitHubNotFound):
        tokens.get_installation(99)


def test_an_installed_repository_is_called_with_its_installation_token_others_with_ours(
    fake: FakeGitHub, tokens: InstallationTokens
) -> None:
    client = GitHubClient(fake.url, "platform-token", tokens=InstalledRepositories(tokens))
    client.get_repository(REPO)
    client.get_repository(OTHER)
    client.comment_on_issue(REPO, 12, "Paid.")
    client.close()
    installation_token = tokens.token(INSTALLATION)
    assert [(c.path, c.token) for c in fake.calls if c.path.startswith("/repos/")] == [
        (f"/repos/{REPO}", installation_token),
        (f"/repos/{OTHER}", "platform-token"),
        (f"/repos/{REPO}/issues/12/comments", installation_token),
    ]
    assert fake.comment_authors == {1: f"{fake.app_slug}[bot]"}


def test_an_installation_token_sees_only_the_installations_repositories(
    fake: FakeGitHub, tokens: InstallationTokens
) -> None:
    client = GitHubClient(fake.url)
    assert client.get_as(f"/repos/{REPO}", tokens.token(INSTALLATION))["id"] == 1
    with pytest.raises(GitHubNotFound):
        client.get_as(f"/repos/{OTHER}", tokens.token(INSTALLATION))
    fake.installations[INSTALLATION].suspended = True
    with pytest.raises(GitHubError) as refused:
        client.get_as(f"/repos/{REPO}", tokens.token(INSTALLATION))
    client.close()
    assert "403" in str(refused.value)


def test_closing_issues_asks_graphql_with_the_installation_token_without_a_platform_token(
    fake: FakeGitHub, tokens: InstallationTokens
) -> None:
    fake.pulls[(REPO, PULL)] = {"number": PULL}
    fake.linked_issues[(REPO, PULL)] = [(REPO, 12)]
    installed = GitHubClient(fake.url, "", tokens=InstalledRepositories(tokens))
    anonymous = GitHubClient(fake.url, "")
    assert installed.closing_issues(REPO, PULL) == {(REPO, 12)}
    assert anonymous.closing_issues(REPO, PULL) == set()  # GraphQL needs a token
    installed.close()
    anonymous.close()


def test_a_second_identical_get_is_answered_304_with_the_same_body(fake: FakeGitHub) -> None:
    client = GitHubClient(fake.url, "etag-token", etags=EtagCache())
    first = client.get_repository(REPO)
    assert client.get_repository(REPO) == first
    fake.repositories[REPO]["default_branch"] = "trunk"
    assert client.get_repository(REPO)["default_branch"] == "trunk"
    client.close()
    assert [c.status for c in fake.calls] == [200, 304, 200]


def test_conditional_requests_can_be_turned_off(fake: FakeGitHub) -> None:
    client = GitHubClient(fake.url, "etag-token", etags=None)
    client.get_repository(REPO)
    client.get_repository(REPO)
    client.close()
    assert [c.status for c in fake.calls] == [200, 200]


def test_the_etag_cache_stays_within_its_bytes() -> None:
    cache = EtagCache(max_bytes=10)
    for n in range(5):
        cache.put((f"/r/{n}", "anonymous"), CachedAnswer('"e"', b"1234", ""))
    assert len(cache) == 2
    assert cache.get(("/r/4", "anonymous")) is not None
    assert cache.get(("/r/0", "anonymous")) is None


RESET = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)


def test_a_403_with_no_remaining_calls_waits_until_the_reset(fake: FakeGitHub) -> None:
    client = GitHubClient(fake.url, "limited-token", rate_limits=RateLimits())
    with time_machine.travel(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), tick=False) as clock:
        fake.limit_rate(1, reset_at=RESET)
        with pytest.raises(GitHubRateLimited) as raised:
            client.get_repository(REPO)
        assert raised.value.retry_at == RESET
        # Until then the client does not call GitHub at all, about any repository.
        with pytest.raises(GitHubRateLimited):
            client.get_issue(REPO, 12)
        assert [c.status for c in fake.calls] == [403]
        clock.move_to(RESET)
        assert client.get_issue(REPO, 12)["number"] == 12
    client.close()


def test_a_429_with_retry_after_waits_that_long(fake: FakeGitHub) -> None:
    client = GitHubClient(fake.url, "limited-token", rate_limits=RateLimits())
    now = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        fake.limit_rate(1, retry_after=90)
        with pytest.raises(GitHubRateLimited) as raised:
            client.get_repository(REPO)
    client.close()
    assert raised.value.retry_at == now + timedelta(seconds=90)
    assert [c.status for c in fake.calls] == [429]


def test_a_403_that_is_not_a_rate_limit_is_a_plain_error(fake: FakeGitHub) -> None:
    client = GitHubClient(fake.url, rate_limits=RateLimits())
    with pytest.raises(GitHubError) as raised:
        client.post_as(f"/app/installations/{INSTALLATION}/access_tokens", "not-a-jwt", {})
    client.close()
    assert not isinstance(raised.value, GitHubRateLimited)


def test_linking_an_issue_while_github_asks_us_to_wait_says_until_when(fake: FakeGitHub) -> None:
    client = GitHubClient(fake.url, "limited-token", rate_limits=RateLimits())
    with time_machine.travel(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), tick=False):
        fake.limit_rate(1, reset_at=RESET)
        with pytest.raises(IssueLinkError) as raised:
            verify_issue(client, parse_issue_url(f"https://github.com/{REPO}/issues/12"))
    client.close()
    assert "14:30 UTC" in str(raised.value)


def test_every_page_of_check_runs_is_read(fake: FakeGitHub) -> None:
    runs = [{"id": n, "name": f"job {n}", "conclusion": "success"} for n in range(150)]
    fake.check_runs[(REPO, "abc")] = runs
    client = GitHubClient(fake.url, etags=None)
    assert client.check_runs(REPO, "abc") == runs
    client.close()
    assert len([c for c in fake.calls if c.path.endswith("/check-runs")]) == 2


def test_a_comment_marker_on_the_second_page_is_found(fake: FakeGitHub) -> None:
    for n in range(1, 131):
        fake.add_comment(REPO, 12, f"comment {n}" + (" <!-- marker -->" if n == 115 else ""), "x")
    client = GitHubClient(fake.url, etags=None)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert client.find_comment(REPO, 12, "<!-- marker -->", since=since) == 115
    assert client.find_comment(REPO, 12, "<!-- absent -->", since=since) is None
    client.close()


def test_the_install_page_installs_and_sends_the_person_to_our_setup_url(
    fake: FakeGitHub,
) -> None:
    fake.pending_install = (77, "gc-demo", ACCOUNT_ID, [REPO])
    fake.setup_url = "http://testserver/github/app/setup"
    page = httpx2.get(f"{fake.url}/apps/{fake.app_slug}/installations/new?state=s1")
    assert '<html lang="en">' in page.text
    assert "<h1>" in page.text
    assert ">Install</button>" in page.text
    installed = httpx2.post(
        f"{fake.url}/apps/{fake.app_slug}/installations/new", data={"state": "s1"}
    )
    assert installed.status_code == 303
    assert installed.headers["location"] == (
        "http://testserver/github/app/setup?installation_id=77&setup_action=install&state=s1"
    )
    assert fake.installations[77].repositories == [REPO]


def test_a_rate_limited_reconcile_stops_calling_github_until_it_may(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    # A credential of its own: the process-wide wait must not reach the other tests.
    settings = settings.model_copy(update={"github_token": SecretStr("reconcile-limited")})
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    second = awarded_work(db, fake_github, issue=13, beside=work)
    start_work(db, settings, fake_stripe, second)
    with GitHubClient.from_settings(settings) as github:
        payonpull_tasks.check_started_work(db, github, settings)
    now = datetime.now(UTC)
    fake_github.calls.clear()
    fake_github.limit_rate(1, reset_at=now + timedelta(minutes=30))
    with GitHubClient.from_settings(settings) as github:
        payonpull_tasks.reconcile(db, github, settings)
    with GitHubClient.from_settings(settings) as github:  # the next run: still waiting
        payonpull_tasks.reconcile(db, github, settings)
    assert [c.status for c in fake_github.calls] == [403]
    after = now + timedelta(minutes=31)
    with time_machine.travel(after, tick=False), GitHubClient.from_settings(settings) as github:
        payonpull_tasks.reconcile(db, github, settings)
    asked = [c.status for c in fake_github.calls if c.path == f"/repos/{REPO}/pulls"]
    # Then GitHub is asked again: once for both opportunities, which share the repository.
    assert len(asked) == 2
    assert asked[0] == 403
    assert asked[1] in {200, 304}


def test_a_rate_limited_comment_is_not_a_failed_attempt_and_is_posted_after_the_wait(
    db: Session, settings: Settings, factory: sessionmaker[Session], fake_github: FakeGitHub
) -> None:
    settings = settings.model_copy(update={"github_token": SecretStr("comments-limited")})
    work = awarded_work(db, fake_github)
    narration.released(db, opportunity_of(db, work), 240_000)
    db.commit()
    now = datetime.now(UTC)
    fake_github.limit_rate(1, reset_at=now + timedelta(minutes=20))
    for _run in range(20):  # more runs than a comment has attempts
        assert github_tasks.post_issue_comments(factory, settings) == 0
    db.expire_all()
    assert db.scalars(select(IssueComment)).one().attempts == 0
    assert [c.status for c in fake_github.calls] == [403]
    with time_machine.travel(now + timedelta(minutes=21), tick=False):
        assert github_tasks.post_issue_comments(factory, settings) == 1
    assert len(fake_github.comments) == 1


def test_a_rate_limited_delivery_waits_without_coming_nearer_to_being_given_up(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    settings = settings.model_copy(update={"github_token": SecretStr("inbox-limited")})
    in_progress_work(db, settings, fake_stripe, fake_github)
    body = merged_payload()
    assert client.post("/webhooks/github", content=body, headers=delivery_headers(body)).is_success
    fake_github.calls.clear()
    fake_github.limit_rate(1, reset_at=datetime.now(UTC) + timedelta(minutes=20))
    for _run in range(payonpull_tasks.MAX_DELIVERY_ATTEMPTS + 1):
        with GitHubClient.from_settings(settings) as github:
            assert payonpull_tasks.process_inbox(db, github, settings) == 0
    db.expire_all()
    delivery = db.scalars(select(WebhookDelivery)).one()
    # Counted once (so the worker stops waking up for it), never given up.
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert not jobs.money_path_work_waiting(db)
    assert [c.status for c in fake_github.calls] == [403]
