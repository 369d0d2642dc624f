"""Engine tuning that has to be in place before the first connection, and SQLite's writers.

SQLite allows one writer at a time. A transaction opened with a plain (deferred) ``BEGIN``
reads first and asks for the write lock only at its first write; if another connection
wrote in the meantime, SQLite cannot wait (busy_timeout does not apply to a read->write
upgrade) and fails at once with "database is locked". So on SQLite:

- the journal is WAL: readers never block the writer and the writer never blocks readers;
- a transaction that will write takes the write lock up front (``BEGIN IMMEDIATE``), where
  busy_timeout does apply: writers queue instead of failing. That is every request whose
  method changes something (not GET/HEAD/OPTIONS), CLI commands, and jobs that say so
  with ``immediate_transactions()`` (outbox delivery);
- reads keep a deferred ``BEGIN``, so pages and polls run side by side. A few GETs do write
  (a learner's page or poll applies an expiry or a provider's readiness); when such a GET
  loses the upgrade race, its unit of work is rolled back and run once more, this time
  with an immediate transaction (``retry_locked_reads``).

On PostgreSQL none of this applies: row locks and MVCC already let writers wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import click
from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from proctor_web.extensions import db

log = logging.getLogger(__name__)

#: Methods that are expected to read only; everything else is a write.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RETRY_FLAG = "_sqlite_retry_immediate"

#: Set by ``immediate_transactions``; None means "decide from the context".
_forced_mode: ContextVar[bool | None] = ContextVar("sqlite_immediate", default=None)


def init_app(app: Flask, engine: Engine) -> None:
    """Tune ``engine`` and, on SQLite, let a read request that had to write retry once."""
    configure_engine(engine)
    if engine.dialect.name == "sqlite":
        retry_locked_reads(app)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


@contextmanager
def immediate_transactions(immediate: bool = True) -> Iterator[None]:
    """Transactions begun inside this block take SQLite's write lock at BEGIN (or, with
    ``immediate=False``, do not: a probe that only reads must not queue behind writers)."""
    token = _forced_mode.set(immediate)
    try:
        yield
    finally:
        _forced_mode.reset(token)


def wants_immediate() -> bool:
    """Whether a transaction starting now should take the write lock at once."""
    forced = _forced_mode.get()
    if forced is not None:
        return forced
    if has_request_context():
        return request.method not in READ_METHODS or bool(g.get(_RETRY_FLAG))
    # A command (``flask proctor ...``, ``flask db upgrade``) runs to write. Other code
    # outside a request says so with ``immediate_transactions`` (outbox delivery does):
    # reading with the write lock held would starve the server's writers.
    return click.get_current_context(silent=True) is not None


def is_lock_error(error: BaseException) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY), as SQLAlchemy wraps it."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def _configure_sqlite(engine: Engine) -> None:
    """Make SQLite transactional the way the services expect.

    pysqlite by default starts transactions late and never for SAVEPOINTs, which breaks
    nested transactions (bulk operations that fail row by row) and the per-test rollback.
    Taking over BEGIN fixes both, and lets us choose deferred or immediate. Foreign keys
    are off in SQLite unless asked for; the busy timeout is how long a writer queues for
    the write lock. WAL is a property of the database file (set once, kept); NORMAL
    synchronous is safe with WAL (a power cut may lose the last commits, never corrupts).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        if connection.get_execution_options().get(SINGLE_STATEMENT_READ):
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE" if wants_immediate() else "BEGIN")


#: Execution option for a transaction that only ever runs one SELECT (the timer poll's
#: snapshot): on SQLite it sends no BEGIN, since a single statement reads one consistent
#: snapshot by itself. Other databases ignore it.
SINGLE_STATEMENT_READ = "proctor_web_single_statement_read"


def retry_locked_reads(app: Flask) -> None:
    """Run a read request once more, with an immediate transaction, if it lost a write race.

    Wrapping ``dispatch_request`` (not each view) covers every blueprint, registered now or
    later. The first run's changes were rolled back, and outbox rows it queued were dropped
    with them, so the second run starts from a clean session and the database as it is now.
    """
    dispatch: Callable[[], Any] = app.dispatch_request

    def dispatch_request() -> Any:
        try:
            return dispatch()
        except OperationalError as error:
            if not is_lock_error(error) or wants_immediate():
                raise
            db.session.rollback()
            g.setdefault(_RETRY_FLAG, True)
            log.info("%s %s had to write but lost the write lock; retrying it once with "
                     "an immediate transaction", request.method, request.path)
            return dispatch()

    app.dispatch_request = dispatch_request  # type: ignore[method-assign]


# What a transaction did ---------------------------------------------------------------------

_NOTES = "proctor_web.database.transaction_notes"
_WROTE = "wrote"


def transaction_notes(session: Session) -> dict[str, Any]:
    """Facts about ``session``'s current transaction (that it flushed a write, which rows it
    holds locked), forgotten when it commits or rolls back."""
    return session.info.setdefault(_NOTES, {})


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, _context: object) -> None:
    transaction_notes(session)[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session: Session) -> None:
    session.info.pop(_NOTES, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: object) -> None:
    session.info.pop(_NOTES, None)


# Ending a read ------------------------------------------------------------------------------


def finish_read(session: Session) -> None:
    """End a read that may have written (expiry on read, a provider's readiness): commit
    when something was flushed or is pending; otherwise leave it to the teardown, so the
    hottest path (the timer poll) sends no COMMIT or ROLLBACK of its own."""
    wrote = transaction_notes(session).pop(_WROTE, False)
    if wrote or session.new or session.dirty or session.deleted:
        session.commit()
    # Else nothing to end here: the request's teardown closes the session, which ends the
    # read (one ROLLBACK, the pool's) without a statement of ours.
