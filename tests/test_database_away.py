"""Issue 18, point 3: PostgreSQL stops for a few seconds under load. /readyz says so, pages say
so in the reader's language, GitHub and Stripe are told to send again (503 and Retry-After), no
request hangs past its timeout, nothing sent is lost, and the service resumes by itself.

The outage is real (the server is stopped, then started again on the same port and data), so
it takes real seconds; nothing here asserts how long anything took. Each request has a generous
client timeout, far above the app's own waits, and what is asserted is only what was answered.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx2
import pytest
from sqlalchemy import Engine, select

from app import migrations
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.models import StripeEvent, WebhookDelivery
from tests.conftest import empty_all_tables
from tests.support.fake_stripe import deliver as deliver_stripe_event
from tests.support.pay_on_pull import delivery_headers
from tests.support.postgres import PostgresServer
from tests.support.server import ThreadedServer

# The app's own wait for an inbox connection: short, so that a request in the outage is
# answered quickly (production waits longer; README: When PostgreSQL is away).
INBOX_WAIT_SECONDS = 0.5
# No request may take longer than this. Far above every wait the app is configured with (the
# inbox wait, a refused connection), so that only a request that hangs can reach it, even on a
# busy shared machine.
REQUEST_BOUND_SECONDS = 30.0
# How long PostgreSQL stays away, at least: the five seconds.
OUTAGE_SECONDS = 5.0
# Bounds on the polls below: each ends as soon as what it waits for is seen.
SEEN_WITHIN_SECONDS = 120.0
LOAD_THREADS = 3

PAGES = ("/", "/opportunities", "/?lang=fr")
UNAVAILABLE_TITLE = {
    "en": "The service is briefly unavailable",
    "fr": "Le service est momentanément indisponible",
}


@dataclass(frozen=True)
class Answer:
    kind: str  # "page", "readyz", "github" or "stripe"
    what: str  # the page's address, or the delivery or event id
    status: int
    retry_after: str | None
    content_type: str
    text: str


@dataclass(frozen=True)
class Sent:
    """A delivery as its sender keeps it, to send the very same again."""

    kind: str
    key: str
    body: bytes


class Load:
    """A few threads asking for pages and /readyz and sending signed deliveries, each with a
    new id, until stopped; every answer is kept, and every request that got no answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers: list[Answer] = []
        self.sent: list[Sent] = []
        self.no_answer: list[str] = []
        self.threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(LOAD_THREADS)
        ]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_BOUND_SECONDS * 2)

    def _run(self, worker: int) -> None:
        with httpx2.Client(base_url=self.url, timeout=REQUEST_BOUND_SECONDS) as http:
            for n in itertools.count():
                if self.stop.is_set():
                    return
                http.cookies.clear()  # the language of a page is its address's, not the last one's
                page = PAGES[n % len(PAGES)]
                self._ask("page", page, functools.partial(http.get, page))
                self._ask("readyz", "/readyz", functools.partial(http.get, "/readyz"))
                for sent in (_github_delivery(worker, n), _stripe_event(worker, n)):
                    with self.lock:
                        self.sent.append(sent)
                    self._ask(sent.kind, sent.key, functools.partial(send, http, sent))

    def _ask(self, kind: str, what: str, request: Callable[[], httpx2.Response]) -> None:
        try:
            response = request()
        except httpx2.HTTPError as exc:  # a timeout above all: the request hung
            with self.lock:
                self.no_answer.append(f"{kind} {what}: {type(exc).__name__}")
            return
        answer = Answer(
            kind,
            what,
            response.status_code,
            response.headers.get("retry-after"),
            response.headers.get("content-type", ""),
            response.text,
        )
        with self.lock:
            self.answers.append(answer)

    def seen(self, kind: str, status: int, since: int = 0) -> bool:
        with self.lock:
            return any(a.kind == kind and a.status == status for a in self.answers[since:])

    def wait_for(self, kind: str, status: int, since: int = 0) -> None:
        """Until an answer of this kind and status is seen among those after ``since``."""
        seen = functools.partial(self.seen, kind, status, since)
        wait_until(seen, f"{kind} answered {status} after answer {since}")

    def mark(self) -> int:
        with self.lock:
            return len(self.answers)


def _github_delivery(worker: int, n: int) -> Sent:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": worker * 100_000 + n})
    return Sent("github", f"outage-{worker}-{n}", body.encode())


def _stripe_event(worker: int, n: int) -> Sent:
    event = {
        "id": f"evt_outage_{worker}_{n}",
        "object": "event",
        "type": "transfer.created",
        "livemode": False,
        "created": int(time.time()),
        "data": {"object": {"id": f"tr_outage_{worker}_{n}", "object": "transfer"}},
    }
    return Sent("stripe", str(event["id"]), json.dumps(event).encode())


def send(http: httpx2.Client, sent: Sent) -> httpx2.Response:
    """Sends the delivery as its sender does, signed anew each time (Stripe signs a retry with
    a fresh timestamp; GitHub's redelivery carries the same id and body)."""
    if sent.kind == "github":
        headers = delivery_headers(sent.body, delivery=sent.key, event="ping")
        return http.post("/webhooks/github", content=sent.body, headers=headers)
    response: httpx2.Response = deliver_stripe_event(http, json.loads(sent.body))
    return response


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SEEN_WITHIN_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {SEEN_WITHIN_SECONDS} s: {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[tuple[PostgresServer, str]]:
    """A server of this test's own: stopping the session's would fail the other tests."""
    server = PostgresServer()
    server.start()
    url = server.create_database("devex_outage")
    migrations.upgrade(url)
    yield server, url
    server.stop()


@pytest.fixture
def database_url(own_postgres: tuple[PostgresServer, str]) -> str:
    url = own_postgres[1]
    engine = make_engine(url)
    empty_all_tables(engine)
    engine.dispose()
    return url


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    settings = settings.model_copy(
        update={"inbox_pool_size": 2, "inbox_wait_seconds": INBOX_WAIT_SECONDS}
    )
    app = create_app(settings)
    server = ThreadedServer(app).start()
    yield server.url
    server.stop()
    app.state.engine.dispose()


def test_postgresql_away_for_seconds_under_load(
    own_postgres: tuple[PostgresServer, str], served: str
) -> None:
    postgres, url = own_postgres
    with Load(served) as load:
        for kind, stored in (("page", 200), ("readyz", 200), ("github", 202), ("stripe", 200)):
            load.wait_for(kind, stored)

        postgres.pause()
        try:
            outage_began = load.mark()
            away_since = time.monotonic()
            # Away for at least the five seconds, and until the load has met it.
            for kind in ("page", "readyz", "github", "stripe"):
                load.wait_for(kind, 503, since=outage_began)
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - away_since)))
        finally:
            postgres.resume()

        back = load.mark()
        # Resumed without restarting the app: ready again, and both inboxes store again.
        for kind, stored in (("readyz", 200), ("page", 200), ("github", 202), ("stripe", 200)):
            load.wait_for(kind, stored, since=back)

    assert load.no_answer == []  # every request was answered within its bound
    _assert_answers_are_clear(load.answers)
    _redeliver_the_refused(served, load)
    _assert_each_delivery_stored_once(url, load.sent)


def _assert_answers_are_clear(answers: list[Answer]) -> None:
    allowed = {"page": {200, 503}, "readyz": {200, 503}, "github": {202, 503}, "stripe": {200, 503}}
    for answer in answers:
        assert answer.status in allowed[answer.kind], answer
        if answer.status != 503:
            continue
        assert "Traceback" not in answer.text
        if answer.kind == "page":
            language = "fr" if "lang=fr" in answer.what else "en"
            assert answer.content_type.startswith("text/html"), answer
            assert f"<h1>{UNAVAILABLE_TITLE[language]}</h1>" in answer.text, answer
            assert int(answer.retry_after or 0) > 0, answer
        elif answer.kind == "readyz":
            assert json.loads(answer.text)["status"] == "unavailable"
        else:  # the sender is told to come back: GitHub's redelivery, Stripe's retry
            assert answer.content_type == "application/problem+json", answer
            assert int(answer.retry_after or 0) > 0, answer


def _redeliver_the_refused(url: str, load: Load) -> None:
    """What GitHub's redelivery and Stripe's retries do with every delivery answered 503."""
    refused = {(a.kind, a.what) for a in load.answers if a.kind in ("github", "stripe")}
    refused -= {(a.kind, a.what) for a in load.answers if a.status != 503}
    assert refused, "the outage refused no delivery"
    with httpx2.Client(base_url=url, timeout=REQUEST_BOUND_SECONDS) as http:
        for sent in load.sent:
            if (sent.kind, sent.key) in refused:
                assert send(http, sent).status_code in (200, 202), sent


def _assert_each_delivery_stored_once(url: str, sent: list[Sent]) -> None:
    engine: Engine = make_engine(url)
    try:
        with engine.connect() as connection:
            github = Counter(connection.scalars(select(WebhookDelivery.delivery_id)))
            stripe = Counter(connection.scalars(select(StripeEvent.event_id)))
    finally:
        engine.dispose()
    assert github == Counter(s.key for s in sent if s.kind == "github")
    assert stripe == Counter(s.key for s in sent if s.kind == "stripe")


def test_the_first_deliveries_after_a_quiet_restart_are_stored(
    own_postgres: tuple[PostgresServer, str], served: str
) -> None:
    """No delivery came while PostgreSQL restarted, so the connections the inbox keeps were cut
    without its knowing. The next deliveries are stored, not refused: GitHub would not send a
    refused one again by itself."""
    postgres, url = own_postgres
    before = [_github_delivery(0, 0), _stripe_event(0, 0)]
    after = [_github_delivery(1, 0), _stripe_event(1, 0), _github_delivery(1, 1)]
    with httpx2.Client(base_url=served, timeout=REQUEST_BOUND_SECONDS) as http:
        for sent in before:
            assert send(http, sent).status_code in (200, 202)
        postgres.pause()
        postgres.resume()
        for sent in after:
            assert send(http, sent).status_code in (200, 202), sent
        assert http.get("/readyz").status_code == 200
        assert http.get("/").status_code == 200
    _assert_each_delivery_stored_once(url, before + after)
