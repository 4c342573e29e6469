"""A slow GitHub does not delay the money: the time from a verified merge to its transfer
request reaching (fake) Stripe, with the fake GitHub answering at once, then answering every
call after 10 s (our client gives up at 10 s: GitHub unwell).

One `devex worker` process serves every queue, with the reconcile job scheduled every 6 s, so
that with the slow GitHub it is always running (and the narration comment job with it). Each
round commits a verified merge as the merges drain does (app/payonpull/service.merged) and
wakes the money drain as it does, then the clock runs until the transfer request arrives.

Prints JSON: p50/p95/max per case over --rounds merges, and the ratio of the slow case's p95 to
the fast one's (target: at most 1.5, the same bound; before the queue, the money jobs waited
behind each 10 s reconcile call). Run with `python -m bench.slow_github [--rounds N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app import migrations, queue
from app.config import Settings
from app.db import make_engine
from app.models import Opportunity
from app.payonpull import service
from bench.webhooks import _empty, served_settings
from tests.support.fake_github import FakeGitHub
from tests.support.fake_stripe import FakeStripe
from tests.support.pay_on_pull import GITHUB_SECRET, in_progress_work
from tests.support.postgres import PostgresServer
from tests.support.server import ThreadedServer

SLOW_SECONDS = 10.0
RECONCILE_MINUTES = 0.1  # every 6 s


async def _wake_money(database_url: str) -> None:
    app = queue.make_app(database_url)
    async with app.open_async():
        await queue.wake(app, "money.drain")


def _reconcile_running(engine: Engine, since: datetime) -> bool:
    """A reconcile job started after ``since`` (so it has the round's work to ask about)
    is running."""
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs j JOIN procrastinate_events e "
                    "ON e.job_id = j.id AND e.type = 'started' "
                    "WHERE j.task_name = 'github.reconcile' AND j.status = 'doing' "
                    "AND e.at >= :since"
                ),
                {"since": since},
            )
        )


def _wait_for_worker(engine: Engine) -> None:
    """Until the worker has started serving (it registers itself), so that its start-up is
    not counted in the first round."""
    deadline = time.monotonic() + 120
    with engine.connect() as connection:
        while not connection.scalar(text("SELECT count(*) FROM procrastinate_workers")):
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not start within two minutes")
            time.sleep(0.1)
            connection.rollback()


def _one_merge(
    settings: Settings, engine: Engine, github: FakeGitHub, stripe: FakeStripe, slow: bool
) -> tuple[float, bool]:
    """Milliseconds from the verified merge to the transfer request, and whether a reconcile
    against the slow GitHub was running meanwhile."""
    _empty(engine)
    github.reset()
    stripe.reset()
    with Session(engine, expire_on_commit=False) as db:
        work, _events = in_progress_work(db, settings, stripe, github)
    since = datetime.now(UTC)
    github.answer_after_seconds = SLOW_SECONDS if slow else 0.0
    if slow:  # the merge arrives while a reconcile waits for the slow GitHub's answer
        deadline = time.monotonic() + 60
        while not (github.answers_held and _reconcile_running(engine, since)):
            if time.monotonic() > deadline:
                raise RuntimeError("no reconcile asked GitHub within a minute")
            time.sleep(0.05)
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as db:
        opportunity = db.get(Opportunity, work.opportunity_id)
        assert opportunity is not None
        service.merged(
            db, opportunity, {"pull_request": 1}, actor=None, release_delay=settings.release_delay
        )
        db.commit()
    asyncio.run(_wake_money(settings.database_url))
    while not stripe.transfer_requests:
        if time.perf_counter() - started > 120:
            raise RuntimeError("no transfer within two minutes")
        time.sleep(0.002)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, _reconcile_running(engine, since)


def _summary(timings: list[float], overlapped: int) -> dict[str, Any]:
    timings.sort()
    return {
        "rounds": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
        "max_ms": round(timings[-1], 1),
        "rounds_with_reconcile_running_at_transfer": overlapped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    postgres = PostgresServer()
    postgres.start()
    github, stripe = FakeGitHub(), FakeStripe()
    fakes = [ThreadedServer(github.asgi()).start(), ThreadedServer(stripe.asgi()).start()]
    github.url, stripe.url = fakes[0].url, fakes[1].url
    worker = None
    try:
        url = postgres.create_database("devex_bench_slow_github")
        migrations.upgrade(url)
        settings, env = served_settings(url, github.url, stripe.url, GITHUB_SECRET)
        env["DEVEX_RECONCILE_INTERVAL_MINUTES"] = str(RECONCILE_MINUTES)
        worker = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        engine = make_engine(url)
        _wait_for_worker(engine)
        results: dict[str, Any] = {"github_answers_after_s": SLOW_SECONDS}
        for case, slow in (("github_fast", False), ("github_slow", True)):
            runs = [_one_merge(settings, engine, github, stripe, slow) for _ in range(args.rounds)]
            results[case] = _summary([ms for ms, _ in runs], sum(busy for _, busy in runs))
        engine.dispose()
        results["p95_ratio_slow_to_fast"] = round(
            results["github_slow"]["p95_ms"] / results["github_fast"]["p95_ms"], 2
        )
        results["target_ratio_max"] = 1.5
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        for fake in fakes:
            fake.stop()
        postgres.stop()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
