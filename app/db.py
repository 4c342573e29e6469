"""Engine and session factory. SQLite is the embedded default; PostgreSQL runs production."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.errors import ValidationFailed
from app.i18n import gettext as _


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    event.listen(engine, "before_cursor_execute", _refuse_nul_characters)
    return engine


def _refuse_nul_characters(
    _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
) -> None:
    """PostgreSQL cannot store NUL in text, and no person means to type one. Whatever the way in
    (path, query, form, JSON), such text is refused here, in one place, as bad input."""
    batches = parameters if isinstance(parameters, list) else [parameters]
    for batch in batches:
        values = batch.values() if isinstance(batch, dict) else (batch or ())
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise ValidationFailed(_("Text cannot contain NUL characters."))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; the route commits once, anything uncommitted is rolled back."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        yield session
