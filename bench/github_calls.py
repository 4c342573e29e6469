"""GitHub API calls: how many one reconcile run makes with --opportunities work in progress
(spread over --repositories repositories), with and without conditional requests (ETags), on
a first run and on a second run where nothing changed; and how many one opportunity costs
from its issue link to its payment.

Prints JSON. GitHub allows an installation (or a token) 5,000 calls an hour and a reconcile
runs every 15 minutes beside everything else, so the budget asked of a run is a tenth of that
(500). A 304 answered to a request made with an Authorization header does not count against
GitHub's primary rate limit, so each run reports its calls, its 304s and what counts.
Uses the real reconcile job (app/payonpull/tasks.py) against the fake GitHub over HTTP, on
PostgreSQL, as the platform's GitHub App: every repository is installed, and each call carries
its installation's token (the token fetches are counted too).
Run with `python -m bench.github_calls [--opportunities N] [--repositories N]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app import migrations
from app.config import Environment, Settings
from app.db import make_engine, make_session_factory
from app.github import installations
from app.github.client import EtagCache, GitHubClient, RateLimits
from app.github.service import parse_issue_url, verify_issue
from app.main import create_app
from app.models import Award, Base
from app.models.base import utcnow
from app.payonpull import tasks as payonpull_tasks
from tests.support.factories import make_opportunity, make_proposal, make_team, make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from tests.support.github_app import APP_WEBHOOK_SECRET, app_settings
from tests.support.pay_on_pull import (
    ISSUE,
    PULL,
    REPO,
    api_pull,
    delivery_headers,
    in_progress_work,
    merged_payload,
    opportunity_of,
    run_jobs,
)
from tests.support.postgres import PostgresServer
from tests.support.server import ThreadedServer

BUDGET = 500  # a tenth of GitHub's 5,000 calls an hour
INSTALLATION = 4_242
# Closed pull requests of each repository updated since the awards (none closes our issues):
# what a busy repository shows the reconcile job on every run.
CLOSED_PULLS = 40


def _empty(engine: Engine) -> None:
    tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _install(session: Session, settings: Settings, github: FakeGitHub, names: list[str]) -> None:
    """The app installed on the organisation's repositories, as the installation event
    leaves it stored."""
    github.install_app(INSTALLATION, "gc-demo", 7001, names)
    api = installations.app_api(settings)
    assert api is not None
    installations.sync(session, api, INSTALLATION)
    session.commit()


def _work_in_progress(
    session: Session,
    settings: Settings,
    github: FakeGitHub,
    opportunities: int,
    repositories: int,
) -> None:
    """``opportunities`` in progress, awarded a day ago, round-robin over the repositories,
    each with closed pull requests that close none of them."""
    team = make_team(session)
    developer = make_user(session, github_id=5001, login="awardee")
    names = [f"gc-demo/repo-{n}" for n in range(repositories)]
    awarded_at = utcnow() - timedelta(days=1)
    for n, name in enumerate(names):
        github.add_repository(name, 1000 + n)
    _install(session, settings, github, names)
    for name in names:
        for number in range(1, CLOSED_PULLS + 1):
            moment = (awarded_at + timedelta(minutes=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
            github.pulls[(name, number)] = api_pull(
                number=number, body="Tidy-up", merged_at=None, updated_at=moment, user={"id": 7}
            )
    for n in range(opportunities):
        name = names[n % repositories]
        opportunity = make_opportunity(
            session,
            team,
            state="in_progress",
            github_repository_id=1000 + n % repositories,
            github_repository_full_name=name,
            github_issue_number=10_000 + n,
            github_default_branch="main",
        )
        proposal = make_proposal(session, opportunity, developer, state="awarded")
        session.add(
            Award(
                opportunity_id=opportunity.id,
                proposal_id=proposal.id,
                reason="top",
                accept_by=awarded_at + timedelta(days=5),
                accepted_at=awarded_at,
                awarded_at=awarded_at,
            )
        )
    session.commit()


def _reconcile_run(
    session: Session, settings: Settings, github: FakeGitHub, etags: EtagCache | None
) -> dict[str, Any]:
    github.calls.clear()
    api = installations.app_api(settings)
    assert api is not None
    factory = make_session_factory(make_engine(settings.database_url))
    tokens = installations.StoredInstallations(factory, api)
    client = GitHubClient(github.url, tokens=tokens, etags=etags, rate_limits=RateLimits())
    with client:
        payonpull_tasks.reconcile(session, client, settings)
    calls = len(github.calls)
    not_modified = sum(1 for call in github.calls if call.status == 304)
    return {
        "calls": calls,
        "not_modified": not_modified,
        "counted_by_github": calls - not_modified,
        "within_budget": calls - not_modified <= BUDGET,
    }


def _reconcile(
    session: Session, settings: Settings, github: FakeGitHub, opportunities: int, repositories: int
) -> dict[str, Any]:
    _work_in_progress(session, settings, github, opportunities, repositories)
    results: dict[str, Any] = {"opportunities": opportunities, "repositories": repositories}
    for mode, etags in (("conditional", EtagCache()), ("unconditional", None)):
        results[mode] = {
            "first_run": _reconcile_run(session, settings, github, etags),
            "second_run_nothing_changed": _reconcile_run(session, settings, github, etags),
        }
    return results


def _paid_opportunity(
    session: Session, settings: Settings, github: FakeGitHub, stripe: FakeStripe
) -> dict[str, Any]:
    """One opportunity from its issue link to its payment: the link verified, the work started
    (and asked about at once), the merge webhook processed, the payment released and
    narrated on the issue. Conditional requests on, a first pass (nothing remembered)."""
    github.calls.clear()
    work, _events = in_progress_work(session, settings, stripe, github)
    _install(session, settings, github, [REPO])
    factory = make_session_factory(make_engine(settings.database_url))
    link = parse_issue_url(f"https://github.com/{REPO}/issues/{ISSUE}")
    with installations.client_for(settings, factory) as client:
        verify_issue(client, link)  # what publishing asks of GitHub, at the link
    github.pulls[(REPO, PULL)] = api_pull()
    body = merged_payload()
    signed = delivery_headers(body, secret=APP_WEBHOOK_SECRET)
    with TestClient(create_app(settings)) as web:
        answer = web.post("/webhooks/github", content=body, headers=signed)
        assert answer.status_code == 202, answer.text
    run_jobs(factory, settings, times=3)
    assert opportunity_of(session, work).state == "paid"
    kinds = Counter(f"{call.method} {_kind(call.path)}" for call in github.calls)
    return {"calls": len(github.calls), "by_endpoint": dict(sorted(kinds.items()))}


def _kind(path: str) -> str:
    """/repos/gc-demo/forms/pulls/77 → /repos/{repo}/pulls/{n}: endpoints, not resources."""
    parts = path.split("/")
    if parts[1:2] == ["repos"]:
        parts[2:4] = ["{repo}"]
    return "/".join("{n}" if part.isdigit() else part for part in parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opportunities", type=int, default=1000)
    parser.add_argument("--repositories", type=int, default=3)
    args = parser.parse_args()
    postgres = PostgresServer()
    postgres.start()
    github, stripe = FakeGitHub(), FakeStripe()
    fakes = [ThreadedServer(github.asgi()).start(), ThreadedServer(stripe.asgi()).start()]
    github.url, stripe.url = fakes[0].url, fakes[1].url
    try:
        url = postgres.create_database("devex_bench_github_calls")
        migrations.upgrade(url)
        settings = app_settings(
            Settings(
                env=Environment.TEST,
                database_url=url,
                github_api_url=github.url,
                stripe_secret_key=SECRET_KEY,
                stripe_webhook_secret=WEBHOOK_SECRET,
                stripe_api_base=stripe.url,
            ),
            github,
        )
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            results = {
                "budget_per_reconcile": BUDGET,
                "reconcile": _reconcile(
                    session, settings, github, args.opportunities, args.repositories
                ),
            }
        _empty(engine)
        github.reset()
        with Session(engine, expire_on_commit=False) as session:
            results["per_paid_opportunity"] = _paid_opportunity(session, settings, github, stripe)
    finally:
        for fake in fakes:
            fake.stop()
        postgres.stop()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
