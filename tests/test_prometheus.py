"""Issue 18, observability: /metrics for Prometheus, scraped after a scenario driven over HTTP
and through the jobs. The web process's counters are shared by every test in this process, so
they are compared before and after; what is read from the database is compared as it stands."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.main import create_app
from app.metrics.prometheus import (
    MULTIPROCESS_DIR_VARIABLE,
    REQUESTS,
    WEBHOOK_DELIVERIES,
    clear_multiprocess_directory,
    exposition,
)
from app.models import Award, Opportunity, Payout
from app.models.base import utcnow
from app.notifications import tasks as notification_tasks
from app.notifications.service import notify
from app.subscriptions import tasks as subscription_tasks
from tests.support.fake_github import FakeGitHub
from tests.support.pay_on_pull import awarded_work, delivery_headers, ping_payload, sign
from tests.support.smtp import SmtpServer
from tests.support.web import post_form

TOKEN = "metrics-scrape-token-0123456789"
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def metered(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(update={"metrics_token": TOKEN, "smtp_url": smtp.url})


@pytest.fixture
def web(metered: Settings, engine: object) -> Iterator[TestClient]:
    with TestClient(create_app(metered), base_url="http://testserver") as client:
        yield client


def scrape(client: TestClient) -> Series:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


def grew(before: Series, after: Series, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_after_pages_webhooks_emails_and_a_held_payout(
    web: TestClient,
    db: Session,
    factory: sessionmaker[Session],
    metered: Settings,
    smtp: SmtpServer,
    fake_github: FakeGitHub,
) -> None:
    before = scrape(web)

    # A payment held: funded work whose opportunity an administrator must look at.
    work = awarded_work(db, fake_github)
    award = db.scalars(select(Award).where(Award.opportunity_id == work.opportunity_id)).one()
    db.add(
        Payout(
            award_id=award.id,
            opportunity_id=work.opportunity_id,
            state="funded",
            amount_cents=240_000,
            currency="CAD",
        )
    )
    db.execute(
        update(Opportunity).where(Opportunity.id == work.opportunity_id).values(state="on_hold")
    )
    db.commit()

    # Pages: the home page twice, the opportunity, an address that is no page.
    assert web.get("/").status_code == 200
    assert web.get("/").status_code == 200
    assert web.get(f"/opportunities/{work.opportunity_id}").status_code == 200
    assert web.get("/no/such/page").status_code == 404

    # GitHub: a signed ping (stored, left for the inbox job), the same again, a forged one.
    body = ping_payload()
    headers = delivery_headers(body, delivery="ping-metrics-1", event="ping")
    assert web.post("/webhooks/github", content=body, headers=headers).json()["status"] == "queued"
    again = web.post("/webhooks/github", content=body, headers=headers)
    assert again.json()["status"] == "duplicate"
    forged = {**headers, "x-hub-signature-256": sign(body, "not-our-secret")}
    assert web.post("/webhooks/github", content=body, headers=forged).status_code == 401

    # Emails: a notification sent; two subscriptions' confirmations, one to an address the
    # mail server refuses for good.
    smtp.recorder.refused.add("gone@example.com")
    for address in ("reader@example.com", "gone@example.com"):
        form = {"email": address, "frequency": "instant"}
        answer = post_form(web, "/subscribe", form, page="/subscribe")  # a GET, then the POST
        assert answer.status_code == 303
    notify(db, [work.developer], "test", "metrics-1", lambda: ("Subject", "Body"))
    db.commit()
    assert notification_tasks.deliver_pending(factory, metered) == 1
    assert subscription_tasks.deliver_pending(factory, metered) == 1

    # Five minutes later, the ping still waits for the inbox job.
    with time_machine.travel(utcnow() + timedelta(minutes=5), tick=False):
        after = scrape(web)

    requests = "devex_http_requests_total"
    assert grew(before, after, requests, method="GET", route="/", status="2xx") == 2
    assert (
        grew(
            before,
            after,
            requests,
            method="GET",
            route="/opportunities/{opportunity_id}",
            status="2xx",
        )
        == 1
    )
    assert grew(before, after, requests, method="GET", route="unmatched", status="4xx") == 1
    assert grew(before, after, requests, method="GET", route="/subscribe", status="2xx") == 2
    assert grew(before, after, requests, method="GET", route="/subscribe", status="2xx") == 2
    assert grew(before, after, requests, method="POST", route="/subscribe", status="3xx") == 2
    # The fast path answers the signed deliveries before any router: still its route's name.
    webhook = "/webhooks/github"
    assert grew(before, after, requests, method="POST", route=webhook, status="2xx") == 2
    assert grew(before, after, requests, method="POST", route=webhook, status="4xx") == 1
    latency = "devex_http_request_duration_seconds_count"
    assert grew(before, after, latency, method="GET", route="/") == 2
    assert grew(before, after, latency, method="POST", route=webhook) == 3
    # The page was labelled by its template, never by the id in its path (/opportunities/1
    # would be a new series per opportunity): no label has the id as a path segment.
    raw = f"/{work.opportunity_id}"
    routes = {dict(key[1]).get("route", "") for key in after}
    assert not [r for r in routes if f"{r}/".find(f"{raw}/") >= 0]

    deliveries = "devex_webhook_deliveries_total"
    assert grew(before, after, deliveries, source="github", outcome="queued") == 1
    assert grew(before, after, deliveries, source="github", outcome="duplicate") == 1
    assert grew(before, after, deliveries, source="github", outcome="bad_signature") == 1

    assert value(after, "devex_metrics_database_up") == 1
    assert value(after, "devex_jobs", queue="github_webhooks", state="waiting") == 1
    assert value(after, "devex_jobs", queue="github_webhooks", state="retrying") == 0
    oldest = value(after, "devex_jobs_oldest_waiting_age_seconds", queue="github_webhooks")
    assert 300 <= oldest < 360
    for queue in ("stripe_events", "notification_emails", "subscription_emails", "transfers"):
        assert value(after, "devex_jobs", queue=queue, state="waiting") == 0
        assert value(after, "devex_jobs_oldest_waiting_age_seconds", queue=queue) == 0

    assert value(after, "devex_payouts", state="funded") == 1
    assert value(after, "devex_payouts", state="transfer_failed") == 0
    assert ("devex_payouts", frozenset({("state", "paid")})) in after  # every state, even at 0
    assert value(after, "devex_payments_held") == 1
    assert 300 <= value(after, "devex_payments_held_oldest_age_seconds") < 360

    emails = "devex_emails_total"
    assert value(after, emails, kind="notification", outcome="sent") == 1
    assert value(after, emails, kind="notification", outcome="failed") == 0
    assert value(after, emails, kind="subscription", outcome="sent") == 1
    assert value(after, emails, kind="subscription", outcome="failed") == 1


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
def test_a_scrape_without_the_token_is_refused_and_shows_nothing(
    web: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = web.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "devex_" not in response.text


def test_without_a_token_metrics_are_open_locally_and_absent_in_production(
    settings: Settings, engine: object
) -> None:
    with TestClient(create_app(settings)) as local:
        assert local.get("/metrics").status_code == 200
    production = settings.model_copy(
        update={"env": "production", "demo_sign_in": False, "smtp_url": "smtp://mail.invalid"}
    )
    with TestClient(create_app(production), base_url="https://testserver") as site:
        response = site.get("/metrics", headers={"Authorization": "Bearer anything"})
        assert response.status_code == 404
        assert "devex_" not in response.text


def _count_requests() -> None:
    """What one web process records for a probe and a delivery. Run in a process of its own,
    which imports this module, and so the metrics, with the variable already set. (This
    process's own counts, never written to files, must not be what the scrape reports.)"""
    REQUESTS.labels("GET", "/healthz", "2xx").inc()
    WEBHOOK_DELIVERIES.labels("stripe", "ignored").inc()


def test_with_several_processes_a_scrape_reports_their_sum(
    factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROCESS_DIR_VARIABLE, str(tmp_path))
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter reads the variable
    for _ in range(2):
        process = spawn.Process(target=_count_requests)
        process.start()
        process.join()
        assert process.exitcode == 0
    series = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition(factory).decode())
        for sample in family.samples
    }
    requests = {"method": "GET", "route": "/healthz", "status": "2xx"}
    assert value(series, "devex_http_requests_total", **requests) == 2
    assert value(series, "devex_webhook_deliveries_total", source="stripe", outcome="ignored") == 2
    assert value(series, "devex_metrics_database_up") == 1  # the database's series are there too

    clear_multiprocess_directory()  # what `devex serve` does at start
    assert list(tmp_path.iterdir()) == []
