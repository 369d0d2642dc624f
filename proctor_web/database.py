"""Engine tuning that has to be in place before the first connection."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    """Make SQLite transactional the way the services expect.

    pysqlite by default starts transactions late and never for SAVEPOINTs, which breaks
    nested transactions (bulk operations that fail row by row) and the per-test rollback.
    Taking over BEGIN fixes both; foreign keys are off in SQLite unless asked for, and a
    busy timeout lets concurrent writers wait instead of failing at once.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        connection.exec_driver_sql("BEGIN")
