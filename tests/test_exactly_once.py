"""Pay-on-pull rule 4 on PostgreSQL: a thousand concurrent duplicate deliveries handled by
several workers, and a worker killed between any two steps of the release, all end with
exactly one transfer and a ledger that sums to zero.

The web process and the workers run as processes of their own, as in production: threads of
the test's process would share one interpreter lock, and on a busy machine an event loop
behind four busy job threads waits for it at every read and write."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import jobs
from app.config import Settings
from app.db import make_engine, make_session_factory
from app.main import create_app
from app.models import Payout, WebhookDelivery
from tests.support.deployment import ROOT, environment, serve, stop
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.pay_on_pull import (
    BID,
    PULL,
    REPO,
    Work,
    add_co_authors,
    api_pull,
    delivery_headers,
    in_progress_work,
    ledger_balance,
    merged_payload,
    opportunity_of,
    payout_of,
)
from tests.support.server import ThreadedServer

WORKERS = 4
DELIVERIES = 1000

# A worker that runs the jobs back to back (no pause between runs: the most contention),
# for at most the given seconds in case nobody stops it.
WORKER_LOOP = """
import sys, time
from app import jobs
from app.config import get_settings
from app.db import make_engine, make_session_factory

settings = get_settings()
factory = make_session_factory(make_engine(settings.database_url))
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    jobs.run_periodic_jobs_once(factory, settings)
"""


def _count(db: Session, model: type[WebhookDelivery] | type[Payout]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _wait_until_paid(db: Session, work: Work, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while opportunity_of(db, work).state != "paid":
        assert time.monotonic() < deadline, f"not paid: {payout_of(db, work).state}"
        time.sleep(0.1)


async def _deliver_all(url: str, body: bytes) -> list[int]:
    # A connection of its own for each delivery, as GitHub sends them: one kept alive could be
    # closed by the server, idle, just as a slow client reuses it.
    limits = httpx2.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx2.AsyncClient(base_url=url, timeout=300, limits=limits) as http:
        # A thousand copies of one delivery, and twenty redeliveries (new ids, same merge).
        requests = [
            http.post("/webhooks/github", content=body, headers=delivery_headers(body, "same"))
            for _ in range(DELIVERIES)
        ] + [
            http.post("/webhooks/github", content=body, headers=delivery_headers(body, f"re-{n}"))
            for n in range(20)
        ]
        return [response.status_code for response in await asyncio.gather(*requests)]


# Shared payouts: the awardee and two co-authors, one of whom opened the pull request; each
# share is a transfer of its own, and 240,000 cents split 33.33 / 33.33 / 33.34 % is exact.
CO_AUTHORS = {6001: "33.33", 6002: "33.33"}
SHARES_CENTS = sorted([79_992, 79_992, 80_016])


@pytest.mark.parametrize("shared", [False, True], ids=["one awardee", "three shares"])
def test_a_thousand_duplicate_deliveries_and_several_workers_make_one_transfer_per_share(
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    shared: bool,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    if shared:
        add_co_authors(db, settings, fake_stripe, work, CO_AUTHORS)
        fake_github.pulls[(REPO, PULL)] = api_pull(user={"id": 6001, "login": "co6001"})
    else:
        fake_github.pulls[(REPO, PULL)] = api_pull()
    server, url = serve(settings)
    processes = [server]
    try:
        processes += [
            subprocess.Popen(
                [sys.executable, "-c", WORKER_LOOP, "900"], cwd=ROOT, env=environment(settings)
            )
            for _ in range(WORKERS)
        ]
        # In a thread of its own: the browser tests' session keeps an event loop in this one.
        with ThreadPoolExecutor(1) as pool:
            statuses = pool.submit(asyncio.run, _deliver_all(url, merged_payload())).result()
        _wait_until_paid(db, work)
    finally:
        stop(processes)
    assert Counter(statuses) == {202: DELIVERIES + 20}  # and so no 5xx, not one
    assert _count(db, WebhookDelivery) == 21
    assert _count(db, Payout) == 1
    shares = 3 if shared else 1
    assert len(fake_stripe.transfer_requests) == shares
    assert len(fake_stripe.transfers) == shares
    amounts = sorted(int(t["amount"]) for t in fake_stripe.transfers.values())
    assert amounts == (SHARES_CENTS if shared else [BID])
    assert len({t["destination"] for t in fake_stripe.transfers.values()}) == shares
    assert ledger_balance(db, work) == 0


# The worker's release, step by step: verify the merge and store the key (process_inbox);
# request the transfer (send_transfers); learn it is confirmed (confirm_transfers); narrate.
RELEASE_JOBS = [
    "payonpull.process_inbox",
    "payments.send_transfers",
    "payments.confirm_transfers",
    "github.post_issue_comments",
]
# Where the worker dies: after the first n jobs of the release, or inside the transfer call.
CRASH_POINTS: dict[str, tuple[str, int | str]] = {
    "after the merge is verified and the key stored": ("jobs", 1),
    "when the transfer request reaches Stripe, before it exists": ("stripe", "before"),
    "after Stripe made the transfer, before the answer arrives": ("stripe", "after"),
    "after the transfer is recorded, before it is confirmed": ("jobs", 2),
    "after the payment is confirmed, before the narration": ("jobs", 3),
}
WORKER_SCRIPT = """
import os, signal, sys
from app import jobs
from app.config import get_settings
from app.db import make_engine, make_session_factory

settings = get_settings()
factory = make_session_factory(make_engine(settings.database_url))
for name in sys.argv[1:]:
    jobs.PERIODIC_JOBS[name](factory, settings)
os.kill(os.getpid(), signal.SIGKILL)  # the crash: no clean-up, no commit of anything in hand
"""


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_worker_killed_between_any_two_steps_still_pays_exactly_once(
    db: Session,
    settings: Settings,
    fake_stripe: FakeStripe,
    fake_github: FakeGitHub,
    point: str,
) -> None:
    work, _events = in_progress_work(db, settings, fake_stripe, fake_github)
    fake_github.pulls[(REPO, PULL)] = api_pull()
    server = ThreadedServer(create_app(settings)).start()
    try:
        body = merged_payload()
        assert httpx2.post(
            f"{server.url}/webhooks/github", content=body, headers=delivery_headers(body)
        ).is_success
    finally:
        server.stop()

    kind, where = CRASH_POINTS[point]
    names = RELEASE_JOBS[:where] if isinstance(where, int) else RELEASE_JOBS
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, *names], cwd=ROOT, env=environment(settings)
    )
    if kind == "stripe":
        fake_stripe.crash_at = str(where)
        fake_stripe.crash = lambda: os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=120) == -signal.SIGKILL  # it died, at the chosen point
    fake_stripe.crash_at = None
    if kind == "stripe":
        assert payout_of(db, work).state == "releasing"  # nothing of the call was recorded
        assert len(fake_stripe.transfers) == (1 if where == "after" else 0)

    # Recovery: a fresh worker runs the jobs as usual.
    engine = make_engine(settings.database_url)
    try:
        factory = make_session_factory(engine)
        for _ in range(3):
            jobs.run_periodic_jobs_once(factory, settings)
    finally:
        engine.dispose()
    assert opportunity_of(db, work).state == "paid"
    assert len(fake_stripe.transfers) == 1
    assert ledger_balance(db, work) == 0
    assert len([c for c in fake_github.comments if "released" in c[2]]) == 1
