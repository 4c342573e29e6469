"""Engine and session factory. SQLite is the embedded default; PostgreSQL runs production."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
import structlog
from fastapi import Request
from psycopg import sql
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, Insert, create_engine, event, make_url
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app import queue
from app.errors import DATABASE_UNAVAILABLE, ServiceUnavailable, ValidationFailed
from app.i18n import gettext as _

log = structlog.get_logger("devex.inbox")

# Deliveries answered 503 since the process started, per inbox table. GitHub does not send a
# refused delivery again by itself: a count that grows means someone should look (the reconcile
# job still finds the merges; Stripe retries on its own).
inbox_not_stored: Counter[str] = Counter()
# How long opening a connection may take. A server that is down refuses at once; one out of
# reach (a network cut, a failover under way) would otherwise hold the request for the
# system's TCP timeout, minutes, where this gives up with an error that becomes a 503.
CONNECT_TIMEOUT_SECONDS = 5
# How long the 503 asks the sender to wait before sending the same delivery again.
RETRY_AFTER_SECONDS = 60
# Connections each process keeps open, and how many more it may open at a busy moment.
POOL_SIZE = 10
POOL_OVERFLOW = 10
# A request runs in a thread of its own, holding one connection. Python runs one thread at a
# time, so threads past the kept connections add no throughput (the load bench: the same
# requests per second with 8 threads as with 40) but each holds its request's memory: with
# anyio's default of 40, a busy web process grew 6 MB more. Half as many threads as
# connections also means a thread that needs a second connection while it holds one (a call
# to GitHub looks up its repository's installation in a session of its own) always finds
# one: with as many threads as connections, all could hold one and wait for another.
REQUEST_THREADS = (POOL_SIZE + POOL_OVERFLOW) // 2


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # pool_pre_ping: a connection cut by a database restart is replaced, not used and failed.
        engine = create_engine(
            database_url,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )
    event.listen(engine, "before_cursor_execute", _refuse_nul_in_parameters)
    return engine


class PostgresInbox:
    """The webhook inboxes' insert on PostgreSQL, straight through a psycopg connection pool.

    The hottest statement of the service: every delivery GitHub or Stripe sends. Through
    SQLAlchemy's async layer (greenlet hops, statement building, result processing) it cost
    more than the insert itself, and bench/webhooks.py holds the endpoint to 0.8 of a bare
    one. A single INSERT … ON CONFLICT DO NOTHING is atomic, so it runs in autocommit: one
    round trip. The columns it does not name take the table's server defaults.

    Requests share the pool on one event loop and hold a connection only for that round trip,
    so a few connections serve thousands of deliveries a second; in a burst the others wait
    their turn, first come first served, and ``wait_seconds`` bounds that wait.

    A new row wakes the job that drains its table, in the same statement (app/queue.py): the
    job reaches the worker by LISTEN/NOTIFY, without polling. Duplicates wake nothing.
    """

    def __init__(self, database_url: str, *, size: int, wait_seconds: float) -> None:
        conninfo = make_url(database_url).set(drivername="postgresql")
        # It grows under load and then stays: opening a connection costs PostgreSQL a process,
        # more than waiting for one (SQLAlchemy's overflow connections churned under bursts).
        self.pool = AsyncConnectionPool(
            conninfo.render_as_string(hide_password=False),
            min_size=1,
            max_size=size,
            timeout=wait_seconds,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )

    async def open(self) -> None:
        await self.pool.open()  # a no-op when already open

    async def close(self) -> None:
        await self.pool.close()

    async def store_once(self, model: Any, key: str, values: dict[str, Any]) -> bool:
        refuse_nul_characters(values.values())
        statement = _raw_insert_once(model.__tablename__, key, tuple(values))
        if self.pool.closed:  # an app served without its lifespan (some tests)
            await self.open()
        # A connection cut while it sat idle (the database restarted, no delivery came) is
        # found out only by using it; the pool then drops it. Rather than refuse the delivery,
        # which GitHub does not send again by itself, it is tried on the next connection, at
        # most once per connection the pool can hold: the insert stores a delivery at most
        # once, however often it is tried. A database still away ends in PoolTimeout (503).
        adapted = _adapted(values)
        for _connection in range(self.pool.max_size + 1):
            new = await self._insert(statement, adapted)
            if new is not None:
                return new
        raise psycopg.OperationalError("every connection the inbox was handed had been cut")

    async def _insert(self, statement: bytes, values: dict[str, Any]) -> bool | None:
        """True when the row is new, False when it was there; None when the connection the
        pool handed out turned out cut."""
        async with self.pool.connection() as connection:
            try:
                cursor = await connection.execute(statement, values)
            except psycopg.OperationalError:
                if connection.broken:
                    return None
                raise
            return await cursor.fetchone() is not None


@functools.cache
def _raw_insert_once(table: str, key: str, columns: tuple[str, ...]) -> bytes:
    """Rendered once per table and columns: composing it again on every delivery showed up in
    the profile of the hot path. A new row wakes its drain in the same statement."""
    insert = sql.SQL(
        "INSERT INTO {table} ({columns}) VALUES ({values}) "
        "ON CONFLICT ({key}) DO NOTHING RETURNING id"
    ).format(
        table=sql.Identifier(table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(map(sql.Placeholder, columns)),
        key=sql.Identifier(key),
    )
    return queue.insert_waking_its_drain(insert, table).as_bytes(None)


def _adapted(values: dict[str, Any]) -> dict[str, Any]:
    return {name: Json(v) if isinstance(v, dict) else v for name, v in values.items()}


@functools.cache
def _insert_once(dialect: str, model: Any, key: str) -> Insert:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING id: a row comes back only when new.
    Built once per table; the values are given when it runs."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing(index_elements=[key]).returning(model.id)


async def store_once(state: Any, model: Any, key: str, values: dict[str, Any]) -> bool:
    """Inserts unless a row with the same ``key`` exists, safe under any number of concurrent
    duplicates (the unique index decides); True when the row is new. PostgreSQL inserts from
    the event loop; SQLite through the sync session in a worker thread.

    When the database cannot take it now, raises ServiceUnavailable (503 with Retry-After),
    never a 500: the insert is one statement, so the delivery is stored whole or not at all,
    and the same delivery sent again is stored once."""
    try:
        return await _store_once(state, model, key, values)
    except DATABASE_UNAVAILABLE as exc:
        table = model.__tablename__
        inbox_not_stored[table] += 1
        log.warning(
            "inbox.not_stored",
            inbox=table,
            key=values.get(key),
            error=type(exc).__name__,
            not_stored_total=inbox_not_stored[table],
        )
        raise ServiceUnavailable(
            _("The delivery could not be stored right now. Please send it again in a minute."),
            retry_after_seconds=RETRY_AFTER_SECONDS,
        ) from exc


async def _store_once(state: Any, model: Any, key: str, values: dict[str, Any]) -> bool:
    inbox: PostgresInbox | None = state.inbox
    if inbox is not None:
        return await inbox.store_once(model, key, values)

    def store() -> bool:
        with state.session_factory() as session:
            new = store_once_sync(session, model, key, values)
            session.commit()
            return new

    return await run_in_threadpool(store)


def store_once_sync(session: Session, model: Any, key: str, values: dict[str, Any]) -> bool:
    statement = _insert_once(session.get_bind().dialect.name, model, key)
    return session.connection().execute(statement, values).first() is not None


def _refuse_nul_in_parameters(
    _conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, _many: bool
) -> None:
    batches = parameters if isinstance(parameters, list) else [parameters]
    for batch in batches:
        refuse_nul_characters(batch.values() if isinstance(batch, dict) else (batch or ()))


def refuse_nul_characters(values: Iterable[Any]) -> None:
    """PostgreSQL cannot store NUL in text, and no person means to type one. Whatever the way in
    (path, query, form, JSON), such text is refused as bad input: every statement of the engine
    passes here, and so does the inbox's raw insert."""
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
    session = factory()
    # What the page's layout reads (request_session) goes through this same connection: a
    # second one per request would leave every request holding one connection while waiting
    # for another once the pool is busy, until the pool's timeout.
    request.state.db = session
    try:
        yield session
        _wake_drains(session)
    finally:
        request.state.db = None
        _close(session)


def _wake_drains(session: Session) -> None:
    """The drains the route's committed work asked for (queue.wake_after_commit). The answer is
    already decided and its work saved: a failure now is logged, not shown, and the drains'
    periodic runs do the work."""
    try:
        queue.wake_committed(session)
    except SQLAlchemyError as exc:
        log.warning("drains not woken", error=type(exc).__name__)


def request_session(request: Request) -> Session | None:
    """The request's own session while the route runs; None once it is closed (error pages
    render after that)."""
    session: Session | None = getattr(request.state, "db", None)
    return session


def _close(session: Session) -> None:
    """Closing rolls back what is left. The database may have gone away since the route
    answered (its connection cut by a restart): the answer may already be on its way, and an
    error raised now would cut it off; the pool replaces the dead connection."""
    try:
        session.close()
    except DATABASE_UNAVAILABLE as exc:
        log.warning("session closed on a lost connection", error=type(exc).__name__)
