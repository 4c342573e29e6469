"""The periodic job loop, run by `devex worker` (or inside `devex serve` for the embedded setup)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.opportunities import tasks as opportunity_tasks

log = structlog.get_logger("devex.jobs")

Job = Callable[[sessionmaker[Session]], int]
PERIODIC_JOBS: dict[str, Job] = {
    "opportunities.close_past_deadlines": opportunity_tasks.close_past_deadlines,
}


def run_periodic_jobs_once(session_factory: sessionmaker[Session]) -> dict[str, int]:
    """Runs every job in its own transaction; one failing job does not stop the others."""
    results: dict[str, int] = {}
    for name, job in PERIODIC_JOBS.items():
        try:
            results[name] = job(session_factory)
        except Exception:
            log.exception("job failed", job=name)
            results[name] = -1
    return results


def run_forever(
    session_factory: sessionmaker[Session], interval: float, stop: threading.Event
) -> None:
    while not stop.is_set():
        results = run_periodic_jobs_once(session_factory)
        if any(results.values()):
            log.info("jobs ran", **results)
        stop.wait(interval)
