"""The periodic job loop, run by `devex worker` (or inside `devex serve` for the embedded setup)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.github import tasks as github_tasks
from app.notifications import tasks as notification_tasks
from app.opportunities import tasks as opportunity_tasks

log = structlog.get_logger("devex.jobs")

Job = Callable[[sessionmaker[Session], Settings], int]
PERIODIC_JOBS: dict[str, Job] = {
    "opportunities.close_past_deadlines": opportunity_tasks.close_past_deadlines,
    "notifications.deliver_pending": notification_tasks.deliver_pending,
    "github.process_inbox": github_tasks.process_inbox,
}


def run_periodic_jobs_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> dict[str, int]:
    """Runs every job in its own transaction; one failing job does not stop the others."""
    results: dict[str, int] = {}
    for name, job in PERIODIC_JOBS.items():
        try:
            results[name] = job(session_factory, settings)
        except Exception:
            log.exception("job failed", job=name)
            results[name] = -1
    return results


def run_forever(
    session_factory: sessionmaker[Session], settings: Settings, stop: threading.Event
) -> None:
    while not stop.is_set():
        results = run_periodic_jobs_once(session_factory, settings)
        if any(results.values()):
            log.info("jobs ran", **results)
        stop.wait(settings.job_interval_seconds)
