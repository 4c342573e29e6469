"""Fixtures: a throwaway PostgreSQL server, migrated databases, the app, a fake GitHub."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app import migrations
from app.config import Environment, Settings
from app.db import make_engine, make_session_factory
from app.main import create_app
from app.models import Base
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import (
    CONNECT_WEBHOOK_SECRET,
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
)
from tests.support.postgres import PostgresServer
from tests.support.server import ThreadedServer
from tests.support.smtp import SmtpServer


def pytest_configure() -> None:
    # A run stopped with SIGTERM (a CI job cancelled, `timeout`) ends as Ctrl-C ends it: the
    # fixtures are torn down, so the throwaway PostgreSQL, a daemon of its own, stops too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()  # raises with a clear message when PostgreSQL cannot start: never skipped
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_url(postgres: PostgresServer) -> str:
    url = postgres.create_database("devex_test")
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'devex.sqlite3'}"
    migrations.upgrade(url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """For behaviour that could differ between the two databases: the test runs on both."""
    url = str(request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url"))
    engine = make_engine(url)
    empty_all_tables(engine)
    engine.dispose()
    return url


@pytest.fixture
def database_url(pg_url: str) -> str:
    return pg_url


@pytest.fixture(scope="session")
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    server = ThreadedServer(fake.asgi()).start()
    fake.url = server.url
    yield fake
    server.stop()


@pytest.fixture(scope="session")
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    server = ThreadedServer(fake.asgi()).start()
    fake.url = server.url
    yield fake
    server.stop()


def empty_all_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - our table names


@pytest.fixture
def settings(database_url: str, fake_github: FakeGitHub, fake_stripe: FakeStripe) -> Settings:
    # Every test starts with empty fakes, whether or not it uses the client.
    fake_github.reset()
    fake_stripe.reset()
    return Settings(
        env=Environment.TEST,
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        demo_sign_in=True,
        github_api_url=fake_github.url,
        github_oauth_url=fake_github.url,
        github_client_id="test-client-id",
        github_client_secret="test-client-secret",
        github_webhook_secret="webhook-test-secret",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        stripe_api_base=fake_stripe.url,
        # Generous limits: tests post many forms; tests/test_rate_limits.py sets tight ones.
        rate_limit_sign_in="1000/minute",
        rate_limit_form_posts="1000/minute",
        rate_limit_api_writes="1000/minute",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    empty_all_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real mail server on loopback that records what it is sent."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory of its own, as the background jobs get."""
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()
