"""GitHub jobs: post the narration. (What the webhook inbox means for the work is
app/payonpull/tasks.py's: this package is an adapter and calls no domain flow.)"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.github import installations, narration
from app.github.client import GitHubClient, GitHubError, GitHubNotFound, GitHubRateLimited
from app.github.repository import claim_unposted_comment
from app.models import IssueComment, Opportunity
from app.models.base import utcnow

MAX_COMMENT_ATTEMPTS = 10


def post_issue_comments(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Posts queued narration, each comment claimed with SKIP LOCKED, once: a comment that
    already carries its marker on the issue (posted by an attempt whose answer was lost) is
    adopted rather than posted again."""
    posted = 0
    github = installations.client_for(settings, session_factory)
    with github, session_factory() as session:
        while (comment := claim_unposted_comment(session, MAX_COMMENT_ATTEMPTS)) is not None:
            opportunity = session.get(Opportunity, comment.opportunity_id)
            assert opportunity is not None
            comment.attempts += 1
            repository = opportunity.github_repository_full_name
            issue = int(opportunity.github_issue_number or 0)
            try:
                comment.github_comment_id = _posted_earlier(
                    github, repository, issue, comment
                ) or github.comment_on_issue(repository, issue, comment.body)
            except GitHubNotFound:
                # The issue is gone (or hidden from us): an answer, not an outage.
                comment.attempts = MAX_COMMENT_ATTEMPTS
                session.commit()
                continue
            except GitHubRateLimited:
                session.rollback()  # waiting for GitHub is not a failed attempt
                break  # the next runs find the client waiting, and call GitHub after retry_at
            except GitHubError:
                session.commit()
                break  # GitHub is unwell or refuses: the next run tries again
            comment.posted_at = utcnow()
            session.commit()
            posted += 1
    return posted


def _posted_earlier(
    github: GitHubClient, repository: str, issue: int, comment: IssueComment
) -> int | None:
    # Queued by our clock, dated by GitHub's: a margin for the two clocks' disagreement.
    since = comment.created_at - timedelta(minutes=10)
    return github.find_comment(repository, issue, narration.marker(comment.key), since=since)
