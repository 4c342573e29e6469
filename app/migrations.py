"""Running Alembic from code (CLI, tests, readiness) with the project's own configuration.

Alembic itself is imported only by the functions that migrate: the readiness probe of every
web process asks for the schema's revision, and loading Alembic (and Mako) for that alone
would cost each process a few megabytes for its whole life.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, column, inspect, select, table

from app.models.opportunity import SEARCH_INDEX, SEARCH_VECTOR

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"
# Our convention, which a test holds against Alembic's own reading of the chain: a migration's
# revision id is its file's four-digit prefix, and each revises the one numbered before it.
REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


@cache
def head_revision() -> str | None:
    """The newest migration's revision id, read from the file names."""
    numbers = [m.group(1) for p in VERSIONS.iterdir() if (m := REVISION_FILE.match(p.name))]
    return max(numbers, default=None)


def migrations_pending(current: str | None) -> bool:
    """Whether the database lacks migrations this code has. A database at a later revision
    than this code knows is not lacking any: the next release migrated before its rollout, and
    each migration is one the previous release can run against (README, production
    checklist), so this release keeps serving until its processes are replaced."""
    head = head_revision()
    return head is not None and (current is None or current < head)


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    revision: str | None = connection.scalar(
        select(column("version_num")).select_from(table(VERSION_TABLE))
    )
    return revision


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
