"""Engine and session factory. SQLite is the embedded default; PostgreSQL runs production."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, Insert, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

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


def make_async_engine(database_url: str) -> AsyncEngine | None:
    """PostgreSQL only: the webhook inboxes insert from the event loop, with no thread hop
    (the hottest routes of the service). SQLite keeps the thread pool and the sync engine."""
    if not database_url.startswith("postgresql"):
        return None
    engine = create_async_engine(database_url, pool_size=10, max_overflow=10)
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_nul_characters)
    return engine


def _insert_once(dialect: str, model: Any, key: str, values: dict[str, Any]) -> Insert:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING id: a row comes back only when new."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[key])
        .returning(model.id)
    )


async def store_once(state: Any, model: Any, key: str, values: dict[str, Any]) -> bool:
    """Inserts unless a row with the same ``key`` exists, safe under any number of concurrent
    duplicates (the unique index decides); True when the row is new."""
    async_engine: AsyncEngine | None = state.async_engine
    if async_engine is not None:
        async with async_engine.begin() as connection:
            result = await connection.execute(_insert_once("postgresql", model, key, values))
            return result.first() is not None

    def store() -> bool:
        with state.session_factory() as session:
            new = store_once_sync(session, model, key, values)
            session.commit()
            return new

    return await run_in_threadpool(store)


def store_once_sync(session: Session, model: Any, key: str, values: dict[str, Any]) -> bool:
    statement = _insert_once(session.get_bind().dialect.name, model, key, values)
    return session.connection().execute(statement).first() is not None


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
