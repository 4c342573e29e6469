"""The administrators' page of failed and retrying background jobs, in a browser: axe-clean,
with both kinds of trouble listed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.config import Settings
from tests.e2e.conftest import check, sign_in_as
from tests.support.factories import make_user
from tests.test_job_queue import QUEUE_TABLES, _fail_two_jobs


def test_failed_and_retrying_jobs_are_listed_for_administrators(
    page: Page, live_server: str, db: Session, settings: Settings
) -> None:
    db.execute(text(f"TRUNCATE {QUEUE_TABLES} CASCADE"))
    make_user(db, name="Ada Admin", is_admin=True, terms_version="2026-11")
    db.commit()
    # In a thread of its own: the browser's session keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_fail_two_jobs, settings.database_url).result()
    sign_in_as(page, live_server, "Ada Admin")
    page.goto(f"{live_server}/admin")
    page.get_by_role("link", name="Background jobs that failed or wait to be tried again").click()
    rows = page.get_by_role("region", name="Failed and retrying jobs").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Waiting to be tried again")
    expect(rows.nth(1)).to_contain_text("Failed")
    check(page, "admin-jobs")
