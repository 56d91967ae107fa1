"""One engine per process, one transaction per unit of work.

SQLite is the embedded default (WAL, foreign keys, BEGIN IMMEDIATE so that concurrent writers queue on the busy
timeout instead of failing when a read transaction upgrades); PostgreSQL is chosen by URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, Table, TypeDecorator, create_engine, event, literal_column, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url

Item = TypeVar("Item")
Result = TypeVar("Result")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone and returns naive datetimes even for DateTime(timezone=True); without this, the same
    row would serialise as "…T14:24:33" from SQLite and "…T14:24:33+00:00" from PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timestamps timezone-aware (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_metadata() -> MetaData:
    """Metadata with a naming convention, so Alembic migrations name constraints the same on every backend."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Readers (see `reading`) take no write lock, so WAL lets them run beside the one writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")

    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """Commit on success, roll back on any exception."""
    with engine.begin() as conn:
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only unit of work: a consistent snapshot, no write lock."""
    with engine.connect().execution_options(read_only=True) as conn, conn.begin():
        yield conn


def ping(engine: Engine) -> bool:
    try:
        with reading(engine) as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def insert_ignoring_duplicates(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT that does nothing when a unique key already holds the row; True when the row was inserted.

    ON CONFLICT DO NOTHING keeps the surrounding transaction usable on PostgreSQL, where a caught
    IntegrityError would abort it.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql_insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
    # RETURNING, not rowcount: psycopg reports a row count of 1 for a conflicting insert that did nothing.
    return conn.execute(stmt.returning(literal_column("1"))).first() is not None


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` when it does not exist yet (SQLite creates files itself)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    server = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    try:
        with server.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
            if exists.first() is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        server.dispose()


# An item waiting for the writer, with where to send its result.
_Queued = tuple[Item, asyncio.AbstractEventLoop, asyncio.Future[Result]]


class BatchWriter(Generic[Item, Result]):
    """One thread that commits queued items in shared transactions: whatever queued up while it was committing is
    passed, in arrival order, to one call of `apply(conn, items)`, which returns one result per item (group commit).

    For a service whose requests each write a little, this replaces one thread hop, BEGIN and COMMIT per request
    with one per batch, lets `apply` use one executemany per table, and on SQLite ends the contention between
    writer threads, which wait for the lock in sleeps of 1 to 100 ms.

    A batch that fails is retried item by item, each in a transaction of its own, so one bad item cannot sink the
    others of its batch and every caller gets its own result or error. `apply` runs on the writer thread, outside
    the callers' contexts: an item carries whatever it needs (request id and the like).
    """

    def __init__(
        self,
        engine: Engine,
        apply: Callable[[Connection, list[Item]], Sequence[Result]],
        name: str,
        gather_seconds: float = 0.0,
    ) -> None:
        self.engine = engine
        self._apply = apply
        # While busy (the last batch held several items), wait this long after the next item arrives, so that its
        # batch gathers more: a batch's fixed cost (BEGIN, COMMIT, a thread hop, statements) falls on more items.
        # A lone item on a quiet service never waits.
        self._gather_seconds = gather_seconds
        self._queue: queue.SimpleQueue[_Queued[Item, Result] | None] = queue.SimpleQueue()
        self._name = name
        self._thread: threading.Thread | None = None  # started by the first write
        self._starting = threading.Lock()

    async def write(self, item: Item, /) -> Result:
        """Queue `item`; its result once the transaction that applied it has committed."""
        if self._thread is None:
            with self._starting:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Result] = loop.create_future()
        self._queue.put((item, loop, done))
        return await done

    def close(self) -> None:
        """Finish what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        last_size = 0
        while True:
            first = self._queue.get()
            if first is None:
                return
            if last_size > 1 and self._gather_seconds:
                time.sleep(self._gather_seconds)  # on the writer's thread: the callers' loops go on meanwhile
            batch = [first]
            while True:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if queued is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(queued)
            last_size = len(batch)
            self._commit(batch)

    def _commit(self, batch: list[_Queued[Item, Result]]) -> None:
        try:
            with transaction(self.engine) as conn:
                results = self._apply(conn, [item for item, _, _ in batch])
                if len(results) != len(batch):  # inside the transaction, so that nothing is committed
                    raise RuntimeError(f"{self._name}: {len(results)} results for {len(batch)} items")
        except Exception as exc:
            if len(batch) == 1:
                _reply(batch[0], None, exc)
            else:
                for queued in batch:
                    self._commit([queued])
            return
        for queued, result in zip(batch, results, strict=True):
            _reply(queued, result, None)


def _reply(queued: _Queued[Any, Any], result: Any, error: BaseException | None) -> None:
    def settle() -> None:
        if done.cancelled():  # the caller gave up (deadline); the work stands, as it would after a thread hop
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    _, loop, done = queued
    with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody is waiting any more
        loop.call_soon_threadsafe(settle)
