"""Running Alembic from code (CLI, tests, readiness) with the project's own configuration."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from app.models.opportunity import SEARCH_INDEX, SEARCH_VECTOR

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def include_object(_obj: object, name: str | None, type_: str, *_args: object) -> bool:
    """What autogenerate compares: everything but the PostgreSQL-only parts that no model
    describes (full-text search, the job queue's own tables)."""
    return not (
        (type_ == "index" and name == SEARCH_INDEX)
        or (type_ == "column" and name == SEARCH_VECTOR)
        or (type_ == "table" and (name or "").startswith(QUEUE_TABLE_PREFIX))
    )


# The job queue's tables (migration 0021): the library's schema, not our models.
QUEUE_TABLE_PREFIX = "procrastinate_"
