"""Issue 15, done means 5: no secret setting is ever shown, in a repr or in a log line."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session

from app.config import Settings
from app.email import EmailNotSent, send_email
from app.main import create_app
from tests.support.fake_github import FakeAccount, FakeGitHub
from tests.support.fake_stripe import FakeStripe, deliver
from tests.support.oauth import sign_in_with_github
from tests.support.pay_on_pull import (
    PULL,
    REPO,
    api_pull,
    in_progress_work,
    merged_payload,
    opportunity_of,
    run_jobs,
    sign,
)
from tests.support.web import app_of

SECRETS = {
    "secret_key": "session-signing-key-7f3c9a1e5b2d4c6e8a0b",
    "github_client_secret": "oauth-client-secret-4d2e8f",
    "github_token": "ghp_api-token-9b1c7e",
    "github_webhook_secret": "github-hook-secret-3a5f0c",
    "github_app_private_key": "-----BEGIN PRIVATE KEY-----app-key-0d4b7f",
    "github_app_webhook_secret": "github-app-hook-secret-7e3c1a",
    "stripe_secret_key": "sk_test_stripe-key-8e2d6b",
    "stripe_webhook_secret": "whsec_stripe-hook-1c7a9f",
    "stripe_connect_webhook_secret": "whsec_stripe-connect-hook-5d9e2b",
    "metrics_token": "metrics-scrape-token-2b6d8e",
}
SMTP_PASSWORD = "smtp-password-5e8b2d"
DATABASE_PASSWORD = "database-password-6c0f4a"
SECRET_VALUES = [*SECRETS.values(), SMTP_PASSWORD, DATABASE_PASSWORD]
# Nothing listens on port 9: the send fails, and the failure is logged.
SMTP_URL = f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:9"


def _with_password(database_url: str) -> str:
    """The same database, reached with a password (the test server trusts local connections,
    so the password is sent nowhere, but the settings carry it as production's would)."""
    return re.sub(r"://([^:@/]+)@", rf"://\1:{DATABASE_PASSWORD}@", database_url, count=1)


def test_every_secret_setting_is_a_secret_str() -> None:
    named_like_a_secret = {
        name
        for name in Settings.model_fields
        if re.search(r"secret|token$|password|private_key", name)
    }
    assert named_like_a_secret == set(SECRETS)
    for name in [*SECRETS, "smtp_url"]:
        assert Settings.model_fields[name].annotation is SecretStr, name


def test_settings_show_no_secret_value_but_hand_it_to_the_code_that_uses_it() -> None:
    settings = Settings(
        **SECRETS,  # type: ignore[arg-type]  # pydantic reads a str into a SecretStr
        smtp_url=SMTP_URL,
        database_url=f"postgresql+psycopg://devex:{DATABASE_PASSWORD}@db.internal/devex",
    )
    dumped = settings.model_dump_json()
    for shown in (repr(settings), str(settings), dumped, str(settings.model_dump())):
        for value in SECRET_VALUES:
            assert value not in shown
    # What stays visible says where things are, not how to get in.
    assert json.loads(dumped)["database_url"] == "postgresql+psycopg://devex:***@db.internal/devex"
    assert settings.github_token.get_secret_value() == SECRETS["github_token"]
    assert settings.smtp_url.get_secret_value() == SMTP_URL
    assert settings.database_url.endswith(f":{DATABASE_PASSWORD}@db.internal/devex")


def test_a_copy_reads_its_secrets_as_the_environment_would(settings: Settings) -> None:
    copy = settings.model_copy(update={"github_webhook_secret": "", "smtp_url": SMTP_URL})
    assert copy.github_webhook_secret == SecretStr("")
    assert copy.smtp_url == SecretStr(SMTP_URL)
    assert copy.secret_key == settings.secret_key


def test_no_log_line_carries_a_secret(
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    fake_stripe: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sign-in, refused and accepted webhooks, a merge paid through the worker's jobs, a failed
    email: every line the app writes (JSON, as in production) is read back."""
    monkeypatch.setattr(fake_github, "client_secret", SECRETS["github_client_secret"])
    configured = settings.model_copy(
        update={
            **SECRETS,
            "smtp_url": SMTP_URL,
            "database_url": _with_password(settings.database_url),
            "log_json": True,
        }
    )
    app = create_app(configured)
    # create_app installed the one handler every log line goes through; read what it writes.
    [handler] = logging.root.handlers
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    previous = handler.setStream(written)
    try:
        with TestClient(app) as client:
            _sign_in_pay_on_pull_and_email(client, db, configured, fake_github, fake_stripe)
    finally:
        handler.setStream(previous)

    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    requests = {(line["path"], line["status"]) for line in lines if line["event"] == "request"}
    assert {
        ("/auth/github/callback", 303),
        ("/webhooks/github", 401),
        ("/webhooks/github", 202),
        ("/webhooks/stripe", 401),
        ("/webhooks/stripe", 200),
    } <= requests
    assert any(line["event"] == "email not sent" for line in lines)
    for value in SECRET_VALUES:
        assert value not in written.getvalue()


def _sign_in_pay_on_pull_and_email(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_github: FakeGitHub,
    fake_stripe: FakeStripe,
) -> None:
    signed_in = sign_in_with_github(client, fake_github, FakeAccount(github_id=77, login="logs"))
    assert signed_in.status_code == 303
    assert "devex_session" in client.cookies

    work, stripe_events = in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull()
    body = merged_payload()
    headers = {"x-github-delivery": "d-1", "x-github-event": "pull_request"}
    forged = {**headers, "x-hub-signature-256": sign(body, "not-the-secret")}
    assert client.post("/webhooks/github", content=body, headers=forged).status_code == 401
    signed = {**headers, "x-hub-signature-256": sign(body, SECRETS["github_webhook_secret"])}
    assert client.post("/webhooks/github", content=body, headers=signed).is_success
    jobs_factory = app_of(client).state.session_factory
    run_jobs(jobs_factory, settings)

    assert deliver(client, stripe_events[0], secret="whsec_not-the-secret").status_code == 401
    for event in [*stripe_events, *fake_stripe.transfer_events()]:
        assert deliver(client, event, secret=SECRETS["stripe_webhook_secret"]).status_code == 200
    run_jobs(jobs_factory, settings)
    assert opportunity_of(db, work).state == "paid"

    with pytest.raises(EmailNotSent):
        send_email(settings, "someone@example.gc.ca", "Subject", "Body")
