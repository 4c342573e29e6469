"""GitHub jobs: process the webhook inbox, ask about work in progress, post the narration."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import flows
from app.config import Settings
from app.github.client import GitHubClient, GitHubError
from app.models import IssueComment, Opportunity
from app.models.base import utcnow

MAX_COMMENT_ATTEMPTS = 10


def process_inbox(session_factory: sessionmaker[Session], settings: Settings) -> int:
    github = GitHubClient(settings.github_api_url, settings.github_token)
    try:
        with session_factory() as session:
            return flows.process_inbox(session, github, settings)
    finally:
        github.close()


def reconcile(session_factory: sessionmaker[Session], settings: Settings) -> int:
    github = GitHubClient(settings.github_api_url, settings.github_token)
    try:
        with session_factory() as session:
            return flows.reconcile(session, github, settings)
    finally:
        github.close()


def post_issue_comments(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Posts queued narration, each comment claimed with SKIP LOCKED. A crash between GitHub's
    answer and our commit can post a comment twice; it never moves money, so we accept that."""
    posted = 0
    github = GitHubClient(settings.github_api_url, settings.github_token)
    try:
        with session_factory() as session:
            while (comment := _claim_comment(session)) is not None:
                opportunity = session.get(Opportunity, comment.opportunity_id)
                assert opportunity is not None
                comment.attempts += 1
                try:
                    comment.github_comment_id = github.comment_on_issue(
                        opportunity.github_repository_full_name,
                        int(opportunity.github_issue_number or 0),
                        comment.body,
                    )
                except GitHubError:
                    session.commit()
                    break  # GitHub is unwell or refuses: the next run tries again
                comment.posted_at = utcnow()
                session.commit()
                posted += 1
    finally:
        github.close()
    return posted


def _claim_comment(session: Session) -> IssueComment | None:
    return session.scalars(
        select(IssueComment)
        .where(IssueComment.posted_at.is_(None), IssueComment.attempts < MAX_COMMENT_ATTEMPTS)
        .order_by(IssueComment.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
