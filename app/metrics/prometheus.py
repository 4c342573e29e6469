"""Prometheus metrics at /metrics (README: Monitoring).

Two kinds of series, for two kinds of facts:
- what a web process sees (requests, their latency, webhook deliveries by outcome) is counted in
  that process; with several processes (`devex serve --workers N`) the counts go through
  prometheus_client's multiprocess files (PROMETHEUS_MULTIPROC_DIR), so whichever process
  answers the scrape reports the sum;
- what the jobs do (queues, payouts, emails) is read from the database at scrape time, so it is
  right whatever process answers, and the worker, which serves no HTTP, needs no exporter.
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, case, false, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.github.tasks import MAX_COMMENT_ATTEMPTS
from app.models import (
    EmailState,
    InboxStatus,
    IssueComment,
    Notification,
    Opportunity,
    OpportunityState,
    Payout,
    PayoutState,
    StripeEvent,
    SubscriptionEmail,
    WebhookDelivery,
)
from app.models.base import utcnow
from app.models.payment import PayoutTransfer, TransferState
from app.payments import repository as payments_repository

log = structlog.get_logger("devex.metrics")

PATH = "/metrics"
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# A `_created` sample per series doubles what is scraped and says nothing an alert uses.
disable_created_metrics()  # type: ignore[no-untyped-call]  # the library's one untyped call

# The web process's own series. Labels are bounded: the route's template (never the raw path,
# which would make a series per opportunity or per scanner's guess), a known method, a class
# of status.
PROCESS = CollectorRegistry()
REQUESTS = Counter(
    "devex_http_requests",
    "HTTP requests answered, by method, route template and status class.",
    ["method", "route", "status"],
    registry=PROCESS,
)
LATENCY = Histogram(
    "devex_http_request_duration_seconds",
    "Time to answer an HTTP request (to the end of its body), by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=PROCESS,
)
WEBHOOK_DELIVERIES = Counter(
    "devex_webhook_deliveries",
    "Webhook deliveries received, by source and outcome (queued, duplicate, ignored, "
    "bad_signature, rejected, unavailable, error).",
    ["source", "outcome"],
    registry=PROCESS,
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no route: a 404, whatever path was asked for
WEBHOOK_SOURCES = {
    "/webhooks/github": "github",
    "/webhooks/stripe": "stripe",
    "/webhooks/stripe/connect": "stripe_connect",
}
# What the webhook routes answer in their body's "status" when they accept a delivery.
ACCEPTED_OUTCOMES = frozenset({"queued", "duplicate", "ignored"})
REFUSED_OUTCOMES = {401: "bad_signature", 422: "rejected", 503: "unavailable"}


def clear_multiprocess_directory() -> None:
    """The files of a previous run would add its counts to this one's: `devex serve` empties
    the directory before it starts its processes, as prometheus_client asks."""
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if not directory:
        return
    for entry in Path(directory).glob("*.db"):
        entry.unlink(missing_ok=True)


def exposition(session_factory: sessionmaker[Session]) -> bytes:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(session_factory))
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # every process's files, summed
    else:
        registry.register(_Forward(PROCESS))
    return generate_latest(registry)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


@dataclass(frozen=True)
class Queue:
    """A job's work as rows: those it would take, how many times each was tried, and since
    when each has waited."""

    name: str
    waiting: list[Any]
    attempts: InstrumentedAttribute[int] | None  # None: the job keeps no count of its tries
    since: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None]


QUEUES = (
    Queue(
        "github_webhooks",
        [WebhookDelivery.status == InboxStatus.PENDING],
        WebhookDelivery.attempts,
        WebhookDelivery.received_at,
    ),
    Queue(
        "stripe_events",
        [StripeEvent.status == InboxStatus.PENDING],
        StripeEvent.attempts,
        StripeEvent.received_at,
    ),
    Queue(
        "notification_emails",
        [Notification.email_state == EmailState.PENDING],
        Notification.email_attempts,
        Notification.created_at,
    ),
    Queue(
        "subscription_emails",
        [SubscriptionEmail.state == EmailState.PENDING],
        SubscriptionEmail.attempts,
        SubscriptionEmail.created_at,
    ),
    Queue(
        "issue_comments",
        [IssueComment.posted_at.is_(None), IssueComment.attempts < MAX_COMMENT_ATTEMPTS],
        IssueComment.attempts,
        IssueComment.created_at,
    ),
    # One row per share to send, written with the move to releasing: they date the wait.
    Queue(
        "transfers",
        [
            *payments_repository.transfer_to_send(),
            PayoutTransfer.payout_id == Payout.id,
            PayoutTransfer.state == TransferState.REQUESTED,
        ],
        Payout.transfer_attempts,
        PayoutTransfer.created_at,
    ),
    Queue(
        "refunds",
        payments_repository.refund_to_send(),
        None,
        Payout.refund_requested_at,
    ),
)
EMAIL_OUTCOMES = (EmailState.SENT, EmailState.FAILED)


class DatabaseCollector(Collector):
    """Reads the queues, payouts and emails at scrape time (a few indexed aggregates)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "devex_metrics_database_up", "1 when the database answered this scrape's queries."
        )
        try:
            with self.session_factory() as session:
                families = [
                    *_queue_families(session),
                    *_payout_families(session),
                    _email_family(session),
                ]
        except SQLAlchemyError:
            log.warning("metrics: the database did not answer")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _queue_families(session: Session) -> list[Metric]:
    jobs = GaugeMetricFamily(
        "devex_jobs",
        "Work waiting for a job, by queue and state: waiting (never tried) or retrying.",
        labels=["queue", "state"],
    )
    oldest = GaugeMetricFamily(
        "devex_jobs_oldest_waiting_age_seconds",
        "Age of the oldest row a job has still to do, by queue (0 when the queue is empty).",
        labels=["queue"],
    )
    now = utcnow()
    for queue in QUEUES:
        tried = queue.attempts > 0 if queue.attempts is not None else false()
        never, again, since = session.execute(
            select(
                func.count(case((~tried, 1))),
                func.count(case((tried, 1))),
                func.min(queue.since),
            ).where(*queue.waiting)
        ).one()
        jobs.add_metric([queue.name, "waiting"], never)
        jobs.add_metric([queue.name, "retrying"], again)
        oldest.add_metric([queue.name], _age(now, since))
    return [jobs, oldest]


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


def _payout_families(session: Session) -> list[Metric]:
    payouts = GaugeMetricFamily(
        "devex_payouts", "Payouts by state (one per awarded opportunity).", labels=["state"]
    )
    counts = dict(session.execute(select(Payout.state, func.count()).group_by(Payout.state)).all())
    for state in PayoutState:
        payouts.add_metric([state.value], counts.get(state, 0))
    held = _held(session)
    held_count = GaugeMetricFamily(
        "devex_payments_held",
        "Payments held for an administrator: their opportunity is on hold.",
        value=held[0],
    )
    held_age = GaugeMetricFamily(
        "devex_payments_held_oldest_age_seconds",
        "Since when the longest-held payment's opportunity has not changed (0 when none).",
        value=_age(utcnow(), held[1]),
    )
    return [payouts, held_count, held_age]


def _held(session: Session) -> tuple[int, datetime | None]:
    on_hold: ColumnElement[bool] = Opportunity.state == OpportunityState.ON_HOLD
    count, since = session.execute(
        select(func.count(), func.min(Opportunity.updated_at))
        .select_from(Payout)
        .join(Opportunity, Opportunity.id == Payout.opportunity_id)
        .where(on_hold)
    ).one()
    return count, since


def _email_family(session: Session) -> Metric:
    """Counted from the two outboxes, so the worker's sending is seen from the web process.
    A row is never deleted once sent or failed (except with its person or subscription)."""
    emails = CounterMetricFamily(
        "devex_emails",
        "Emails by kind (notification, subscription) and outcome: sent, or failed for good "
        '(refused address, attempts run out). Retries are devex_jobs{state="retrying"}.',
        labels=["kind", "outcome"],
    )
    outboxes: tuple[tuple[str, InstrumentedAttribute[EmailState]], ...] = (
        ("notification", Notification.email_state),
        ("subscription", SubscriptionEmail.state),
    )
    for kind, state in outboxes:
        counts = dict(
            session.execute(
                select(state, func.count()).where(state.in_(EMAIL_OUTCOMES)).group_by(state)
            ).all()
        )
        for outcome in EMAIL_OUTCOMES:
            emails.add_metric([kind, outcome.value], counts.get(outcome, 0))
    return emails


class PrometheusMiddleware:
    """Counts every request by its route's template and answers GET /metrics.

    It sits outside the GitHub webhook fast path, so the deliveries that path answers are
    counted too; their outcome is what the route's body says ({"status": "queued"}) or, when
    refused, its status code."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: list[BaseRoute],
        settings: Settings,
        session_factory: sessionmaker[Session],
    ) -> None:
        self.app = app
        self.routes = routes
        self.settings = settings
        self.session_factory = session_factory
        self._leaf_routes: list[BaseRoute] | None = None  # once every router is included

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == PATH and scope["method"] in {"GET", "HEAD"} and self._enabled:
            await self._measured(scope, send, partial(self._serve_metrics, scope), route=PATH)
            return
        await self._measured(scope, send, partial(self.app, scope, receive), route=None)

    @property
    def _enabled(self) -> bool:
        """Without a token, /metrics exists only off production (and is then open); in
        production without one it is the site's 404, like any unknown address."""
        token = self.settings.metrics_token.get_secret_value()
        return bool(token) or not self.settings.is_production

    async def _measured(
        self, scope: Scope, send: Send, answer: Callable[[Send], Awaitable[None]], route: str | None
    ) -> None:
        started = time.perf_counter()
        status = 500
        webhook = WEBHOOK_SOURCES.get(scope["path"]) if scope["method"] == "POST" else None
        body = bytearray()

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and webhook and len(body) < 200:
                body.extend(message.get("body", b""))  # {"status": "queued"}: a short answer
            await send(message)

        try:
            await answer(observe)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            template = route or self._template(scope)
            REQUESTS.labels(method, template, f"{status // 100}xx").inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)
            if webhook:
                WEBHOOK_DELIVERIES.labels(webhook, _outcome(status, bytes(body))).inc()

    def _template(self, scope: Scope) -> str:
        """The template of the route that answers this path and method (the router does not
        tell: the scope it writes into is a copy by then, and the webhook fast path and the
        middlewares that answer on their own use none)."""
        if scope["method"] == "POST" and scope["path"] in WEBHOOK_SOURCES:
            return str(scope["path"])  # the hottest routes: no search
        other_method = UNMATCHED
        for route in self._leaves():
            match, _child = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", UNMATCHED))
            if match is Match.PARTIAL and other_method == UNMATCHED:  # answered 405
                other_method = str(getattr(route, "path", UNMATCHED))
        return other_method

    def _leaves(self) -> list[BaseRoute]:
        if self._leaf_routes is None:
            self._leaf_routes = list(_leaf_routes(self.routes))
        return self._leaf_routes

    async def _serve_metrics(self, scope: Scope, send: Send) -> None:
        token = self.settings.metrics_token.get_secret_value()
        if token and not hmac.compare_digest(_authorization(scope), f"Bearer {token}".encode()):
            await _respond(
                send,
                401,
                b"Unauthorized\n",
                [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")],
            )
            return
        payload = await run_in_threadpool(exposition, self.session_factory)
        content_type = CONTENT_TYPE_LATEST.encode()
        await _respond(
            send,
            200,
            payload,
            [(b"content-type", content_type), (b"cache-control", b"no-store")],
        )


def _leaf_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes in the order the router tries them; FastAPI keeps an included router whole
    (its original_router), so its routes are looked for inside it."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _leaf_routes(included.routes)
        else:
            yield route


def _authorization(scope: Scope) -> bytes:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return bytes(value)
    return b""


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _outcome(status: int, body: bytes) -> str:
    """An accepted delivery's outcome is the word its answer gives; a refused one's, its code."""
    if 200 <= status < 300:
        try:
            said = json.loads(body).get("status")
        except (ValueError, AttributeError):
            said = None
        return said if said in ACCEPTED_OUTCOMES else "accepted"
    return REFUSED_OUTCOMES.get(status, "error" if status >= 500 else "rejected")
