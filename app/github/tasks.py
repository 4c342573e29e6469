"""GitHub jobs: process the webhook inbox."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app import flows
from app.config import Settings
from app.github.client import GitHubClient


def process_inbox(session_factory: sessionmaker[Session], settings: Settings) -> int:
    github = GitHubClient(settings.github_api_url, settings.github_token)
    try:
        with session_factory() as session:
            return flows.process_inbox(session, github)
    finally:
        github.close()


def reconcile(session_factory: sessionmaker[Session], settings: Settings) -> int:
    github = GitHubClient(settings.github_api_url, settings.github_token)
    try:
        with session_factory() as session:
            return flows.reconcile(session, github)
    finally:
        github.close()
