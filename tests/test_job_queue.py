"""The background jobs on the PostgreSQL queue (issue 18): two web processes and two
`devex worker` processes against one database, as in production, each a process of its own."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx2
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import WebhookDelivery
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.pay_on_pull import (
    BID,
    PULL,
    REPO,
    api_pull,
    delivery_headers,
    in_progress_work,
    ledger_balance,
    merged_payload,
    opportunity_of,
)
from tests.test_exactly_once import ROOT, _environment, _serve, _stop

DELIVERIES = 1000
# Short schedules, so that the test sees several reconcile runs in seconds.
RECONCILE_SECONDS = 3
QUICK = {"DEVEX_RECONCILE_INTERVAL_MINUTES": str(RECONCILE_SECONDS / 60)}
QUEUE_TABLES = "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs"


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "worker"], cwd=ROOT, env=_environment(settings) | QUICK
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


def _wait_for(condition: object, what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_storm_over_two_web_processes_and_two_workers_pays_once_and_reconciles_once_per_interval(
    db: Session, settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub
) -> None:
    db.execute(text(f"TRUNCATE {QUEUE_TABLES} CASCADE"))
    db.commit()
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        servers = [_serve(settings) for _ in range(2)]
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
        _stop(processes)
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
