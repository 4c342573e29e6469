"""The background jobs on the PostgreSQL queue (issue 18): two web processes and two
`devex worker` processes against one database, as in production, each a process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import jobs, queue
from app.config import Settings
from app.github.client import GitHubError
from app.models import InboxStatus, WebhookDelivery
from app.payments import repository as payments_repository
from app.payments import service as payments
from app.payonpull import service
from tests.support.deployment import ROOT, environment, serve, stop
from tests.support.factories import make_user
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe, deliver
from tests.support.pay_on_pull import (
    BID,
    PULL,
    REPO,
    Work,
    api_pull,
    delivery_headers,
    fund_at_stripe,
    in_progress_work,
    ledger_balance,
    merged_payload,
    opportunity_of,
    waiting_for_the_money,
)
from tests.support.web import post_form, sign_in

DELIVERIES = 1000
# Short schedules, so that the test sees several reconcile runs in seconds.
RECONCILE_SECONDS = 3
QUICK = {"DEVEX_RECONCILE_INTERVAL_MINUTES": str(RECONCILE_SECONDS / 60)}
ZERO = timedelta(0)
QUEUE_TABLES = "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs"


def run_coroutine(coroutine: Coroutine[Any, Any, None]) -> None:
    """Runs it to its end on an event loop of its own thread: the browser tests' Playwright
    keeps an event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def empty_queue(db: Session) -> None:
    """The jobs of earlier tests are not this test's history."""
    db.execute(text(f"TRUNCATE {QUEUE_TABLES} CASCADE"))
    db.commit()


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], cwd=ROOT, env=environment(settings) | QUICK
    )


async def _storm(urls: list[str], body: bytes) -> list[int]:
    """The same delivery a thousand times, spread over the web processes, all at once."""
    limits = httpx2.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx2.AsyncClient(timeout=300, limits=limits) as http:
        requests = [
            http.post(
                f"{urls[n % len(urls)]}/webhooks/github",
                content=body,
                headers=delivery_headers(body, "storm"),
            )
            for n in range(DELIVERIES)
        ]
        return [response.status_code for response in await asyncio.gather(*requests)]


def _reconcile_history(db: Session) -> list[tuple[int, str]]:
    """Each reconcile job the queue recorded: the periodic time it ran for, and how it ended."""
    rows = db.execute(
        text(
            "SELECT (args->>'timestamp')::bigint, status::text FROM procrastinate_jobs "
            "WHERE task_name = 'github.reconcile' ORDER BY id"
        )
    )
    return [(int(stamp), status) for stamp, status in rows]


def _wait_for(condition: Callable[[], object], what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.usefixtures("empty_queue")
def test_a_storm_over_two_web_processes_and_two_workers_pays_once_and_reconciles_once_per_interval(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        servers = [serve(settings) for _ in range(2)]
        processes += [process for process, _url in servers]
        processes += [_worker(settings) for _ in range(2)]
        with ThreadPoolExecutor(1) as pool:
            statuses = pool.submit(
                asyncio.run, _storm([url for _process, url in servers], merged_payload())
            ).result()

        def paid() -> bool:
            db.expire_all()
            return opportunity_of(db, work).state == "paid"

        _wait_for(paid, "the merge was not paid")
        # Both workers have run the schedule for several intervals.
        _wait_for(lambda: len(_reconcile_history(db)) >= 4, "reconcile did not run")
    finally:
        stop(processes)
    assert Counter(statuses) == {202: DELIVERIES}  # and so no 5xx, not one
    assert db.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
    assert len(fake_stripe.transfer_requests) == 1
    assert [int(t["amount"]) for t in fake_stripe.transfers.values()] == [BID]
    assert ledger_balance(db, work) == 0
    history = _reconcile_history(db)
    stamps = [stamp for stamp, _status in history]
    assert len(set(stamps)) == len(stamps)  # never twice for one interval
    assert all(stamp % RECONCILE_SECONDS == 0 for stamp in stamps)
    finished = [status for _stamp, status in history[:-1]]  # the last may still be running
    assert set(finished) == {"succeeded"}


def _reconcile_running(db: Session) -> int | None:
    db.rollback()  # a fresh snapshot
    found = db.scalar(
        text(
            "SELECT id FROM procrastinate_jobs "
            "WHERE task_name = 'github.reconcile' AND status = 'doing'"
        )
    )
    return None if found is None else int(found)


@pytest.mark.usefixtures("empty_queue")
def test_a_slow_github_does_not_hold_up_the_money(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    """GitHub answers every call 10 s late (our client gives up then): while the reconcile job
    waits on it, a verified merge's transfer is requested; the reconcile is still running."""
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.answer_after_seconds = 10
    worker = _worker(settings)
    try:
        # The reconcile job is waiting for GitHub's answer about the work.
        _wait_for(lambda: fake_github.answers_held, "reconcile did not ask GitHub")
        reconcile = _reconcile_running(db)
        assert reconcile is not None
        service.merged(
            db, opportunity_of(db, work), {"pull_request": PULL}, actor=None, release_delay=ZERO
        )
        db.commit()
        run_coroutine(_wake_money(settings.database_url))
        _wait_for(lambda: fake_stripe.transfer_requests, "no transfer")
        still_running = _reconcile_running(db)
        still_held = fake_github.answers_held
    finally:
        stop([worker])
    assert still_running == reconcile
    assert still_held >= 1
    assert len(fake_stripe.transfer_requests) == 1


async def _wake_money(database_url: str) -> None:
    """As the merges drain does after a verified merge."""
    app = queue.make_app(database_url)
    async with app.open_async():
        await queue.wake(app, "money.drain")


def _fail_two_jobs(database_url: str) -> None:
    """A job that hits our own defect and one that finds GitHub unreachable, run by the
    library's own worker under the project's retry policy."""
    app = queue.make_app(database_url)

    @app.task(name="test.defect", queue=queue.HOUSEKEEPING, retry=jobs.RETRY)
    def defect() -> None:
        raise ValueError("a defect of ours")

    @app.task(name="test.unreachable", queue=queue.HOUSEKEEPING, retry=jobs.RETRY)
    def unreachable() -> None:
        raise GitHubError("GitHub did not answer")

    async def run() -> None:
        async with app.open_async():
            await defect.defer_async()
            await unreachable.defer_async()
            await app.run_worker_async(
                queues=[queue.HOUSEKEEPING], wait=False, install_signal_handlers=False
            )

    run_coroutine(run())


@pytest.mark.usefixtures("empty_queue")
def test_a_defect_fails_at_once_an_unreachable_service_is_retried_and_both_are_listed(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _fail_two_jobs(settings.database_url)
    rows = db.execute(
        text("SELECT task_name, status::text, attempts FROM procrastinate_jobs ORDER BY id")
    ).all()
    assert [tuple(row) for row in rows] == [
        ("test.defect", "failed", 1),
        ("test.unreachable", "todo", 1),  # waiting for its retry, 2 s later
    ]
    admin = make_user(db, is_admin=True)
    db.commit()
    sign_in(client, admin)
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    listed = [
        [cell.strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>\s*<td>.*?</tr>", page.text, re.S)
    ]
    assert [(row[2], row[3]) for row in listed] == [
        ("<code>test.unreachable</code>", "Waiting to be tried again"),
        ("<code>test.defect</code>", "Failed"),
    ]
    printed = subprocess.run(
        [sys.executable, "-m", "app", "jobs", "failed"],
        cwd=ROOT,
        env=environment(settings),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = [line.split("\t")[1:4] for line in printed.stdout.splitlines()]
    assert lines == [
        ["housekeeping", "test.unreachable", "todo"],
        ["housekeeping", "test.defect", "failed"],
    ]


@pytest.mark.usefixtures("empty_queue")
def test_a_job_whose_worker_died_is_marked_failed_and_frees_its_task(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    """A worker killed outright (no goodbye) leaves its job "doing", holding the task's lock:
    once its heartbeat is 30 s old, another worker marks the job failed, and the task runs
    again."""
    in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.answer_after_seconds = 20
    quick = {"DEVEX_JOB_INTERVAL_SECONDS": "2"}
    doomed = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], cwd=ROOT, env=environment(settings) | QUICK
    )
    survivor = None
    try:
        _wait_for(lambda: fake_github.answers_held, "reconcile did not ask GitHub")
        stalled = _reconcile_running(db)
        doomed.kill()
        doomed.wait(timeout=60)
        fake_github.answer_after_seconds = 0
        survivor = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=ROOT,
            env=environment(settings) | QUICK | quick,
        )

        def ran_again() -> bool:
            db.rollback()
            return any(
                status == "succeeded" and job_id > (stalled or 0)
                for job_id, status in db.execute(
                    text(
                        "SELECT id, status::text FROM procrastinate_jobs "
                        "WHERE task_name = 'github.reconcile'"
                    )
                )
            )

        _wait_for(ran_again, "reconcile did not run again")
    finally:
        doomed.kill()
        stop([survivor] if survivor else [])
    status = db.scalar(
        text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": stalled}
    )
    assert status == "failed"


def test_every_job_runs_in_exactly_one_task() -> None:
    placed = Counter(name for task in jobs.TASKS.values() for name in task.jobs)
    assert placed == Counter(list(jobs.ALL_JOBS))


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        (30, "* * * * * */30"),
        (3, "* * * * * */3"),
        (7, "* * * * * */6"),  # rounded down to a divisor of the minute
        (0.5, "* * * * * */1"),
        (900, "*/15 * * * *"),
        (60 * 60 * 6, "0 */6 * * *"),
    ],
)
def test_intervals_become_schedules_every_worker_shares(seconds: float, cron: str) -> None:
    assert queue.cron_every(seconds) == cron


# --- Money moved on a page: its job is woken when the page's work is saved -------------------


def _waiting_tasks(db: Session) -> list[str]:
    db.rollback()  # a fresh snapshot
    return list(
        db.scalars(
            text(
                "SELECT task_name FROM procrastinate_jobs WHERE status = 'todo' ORDER BY task_name"
            )
        )
    )


@pytest.mark.usefixtures("empty_queue")
def test_a_cancellation_on_a_page_wakes_the_money_jobs_to_refund_at_once(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    assert _cancel_on_its_page(client, work, reason="") != 303
    assert _waiting_tasks(db) == []  # nothing saved, nothing to wake
    assert _cancel_on_its_page(client, work, reason="Done in-house") == 303
    # Not the next periodic run (DEVEX_JOB_INTERVAL_SECONDS away): the refund is sent now.
    assert _waiting_tasks(db) == ["money.drain"]


@pytest.mark.usefixtures("empty_queue")
def test_funding_confirmed_on_the_return_page_wakes_the_check_of_an_earlier_merge(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = waiting_for_the_money(db, settings, fake_stripe, fake_github)
    fund_at_stripe(db, settings, fake_stripe, work)  # paid on Stripe's page; no event yet
    assert _waiting_tasks(db) == []
    sign_in(client, work.finance)
    oid = work.opportunity_id
    returned = client.get(f"/opportunities/{oid}/funding/return", follow_redirects=False)
    assert returned.status_code == 303
    assert opportunity_of(db, work).state == "in_progress"
    # The awardee's pull request may have been merged before the money came: asked now.
    assert _waiting_tasks(db) == ["merges.drain"]


def test_a_wake_asked_for_by_work_that_is_rolled_back_is_forgotten(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    queue.wake_committed(db)  # what the set-up's own commits asked for, out of the way
    db.execute(text(f"TRUNCATE {QUEUE_TABLES} CASCADE"))
    db.commit()
    payout = payments_repository.payout_for(db, work.opportunity_id)
    assert payout is not None
    payments.request_refund(db, payout, actor=None, reason="changed our mind")
    db.rollback()
    db.execute(text("SELECT 1"))  # the session's next transaction, which commits
    db.commit()
    queue.wake_committed(db)
    assert _waiting_tasks(db) == []
    payments.request_refund(db, payout, actor=None, reason="changed our mind")
    db.commit()
    queue.wake_committed(db)
    assert _waiting_tasks(db) == ["money.drain"]


# With every schedule a day apart (midnight), only a wake-up can explain work done in seconds.
RARE = {
    "DEVEX_JOB_INTERVAL_SECONDS": str(24 * 3600),
    "DEVEX_RECONCILE_INTERVAL_MINUTES": str(24 * 60),
}


@contextlib.contextmanager
def _rarely_scheduled_worker(settings: Settings) -> Iterator[None]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], cwd=ROOT, env=environment(settings) | RARE
    )
    try:
        yield
    finally:
        stop([worker])


def _cancel_on_its_page(client: TestClient, work: Work, reason: str) -> int:
    """The team's owner cancels the work on its page; the answer's status."""
    sign_in(client, work.owner)
    page = f"/opportunities/{work.opportunity_id}"
    return post_form(client, f"{page}/cancel", {"reason": reason}, page).status_code


def _deliver_the_merge(client: TestClient) -> None:
    body = merged_payload()
    assert client.post("/webhooks/github", content=body, headers=delivery_headers(body)).is_success


@pytest.mark.usefixtures("empty_queue")
def test_a_merge_delivery_wakes_the_check_and_the_verified_merge_wakes_the_transfer(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull()
    with _rarely_scheduled_worker(settings):
        _deliver_the_merge(client)
        _wait_for(lambda: fake_stripe.transfer_requests, "the merge was not paid", seconds=120)
    assert len(fake_stripe.transfer_requests) == 1


@pytest.mark.usefixtures("empty_queue")
def test_a_refund_asked_for_on_a_page_leaves_without_waiting_for_the_schedule(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    with _rarely_scheduled_worker(settings):
        assert _cancel_on_its_page(client, work, reason="Done in-house") == 303
        _wait_for(lambda: fake_stripe.refund_requests, "no refund was sent", seconds=120)
    assert len(fake_stripe.refund_requests) == 1


def _delivery_taken(db: Session) -> bool:
    db.rollback()  # a fresh snapshot
    statuses = db.scalars(select(WebhookDelivery.status)).all()
    return len(statuses) == 1 and statuses[0] is not InboxStatus.PENDING


@pytest.mark.usefixtures("empty_queue")
def test_a_merge_before_the_funding_is_paid_once_the_funding_event_wakes_its_check(
    client: TestClient,
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
) -> None:
    work = waiting_for_the_money(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull()
    with _rarely_scheduled_worker(settings):
        _deliver_the_merge(client)  # merged while the team has not paid: nothing to pay yet
        _wait_for(lambda: _delivery_taken(db), "the delivery was not taken")
        assert fake_stripe.transfer_requests == []
        # The team pays; Stripe's events alone tell the app: funded, the work starts, its
        # earlier merge is checked with GitHub and paid.
        for event in fund_at_stripe(db, settings, fake_stripe, work):
            assert deliver(client, event).is_success
        _wait_for(lambda: fake_stripe.transfer_requests, "the merge was not paid", seconds=120)
    assert len(fake_stripe.transfer_requests) == 1
