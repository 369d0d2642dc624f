"""One-row Core SELECTs on the driver's cursor, for the hottest read (the timer poll).

SQLAlchemy's execution path costs about four times the SQL itself for a one-row SELECT on
SQLite (compiled-cache lookup, parameter construction, the execution context, the result
object). ``RawSelect`` does that work once per dialect: it compiles the statement, keeps the
constant parameters already processed for the driver and the result processors of every
column (so values come back exactly as the ORM would give them: aware UTC datetimes,
booleans), and then each call only hands the driver the SQL and the parameters.

What it keeps from SQLAlchemy's own path:

- ``before_cursor_execute`` and ``after_cursor_execute`` listeners see the statement (with
  ``context=None``), so query counting and tracing still work;
- driver errors come out as SQLAlchemy's ``DBAPIError`` subclasses (``OperationalError`` for
  a locked SQLite database), so callers catch what they always catch;
- it runs on a SQLAlchemy ``Connection``: inside its transaction when it has one.

Only for statements that return at most one row and take simple parameters (no expanding
``IN``, no ``literal_execute``); the constructor refuses anything else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, exc
from sqlalchemy.engine import Dialect


@dataclass(frozen=True)
class _Prepared:
    sql: str
    constants: dict[str, Any]
    variables: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    order: tuple[str, ...] | None  # positional drivers (SQLite's "?")
    keys: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]


class RawSelect:
    """``RawSelect(query, variables).one(connection, **values)`` -> a dict of the row's
    columns by label, or None. ``variables`` names the bind parameters given at each call;
    every other parameter keeps the value it had when the query was built."""

    def __init__(self, query: Select, variables: tuple[str, ...]) -> None:
        self.query = query
        self.variables = variables
        self._prepare = functools.lru_cache(maxsize=8)(self._prepared)

    def _prepared(self, dialect: Dialect) -> _Prepared:
        compiled = self.query.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("RawSelect takes no expanding or literal-execute parameters")
        processors: dict[str, Callable[[Any], Any] | None] = {}
        for bind in compiled.binds.values():
            processors[bind.key] = bind.type.dialect_impl(dialect).bind_processor(dialect)
        missing = set(self.variables) - set(processors)
        if missing:
            raise ValueError(f"the query has no parameters {sorted(missing)}")
        constants = {}
        for key, value in compiled.construct_params(
                {name: None for name in self.variables}).items():
            if key in self.variables:
                continue
            process = processors.get(key)
            constants[key] = process(value) if process is not None else value
        columns = list(self.query.selected_columns)
        return _Prepared(
            sql=str(compiled),
            constants=constants,
            variables=tuple((name, processors[name]) for name in self.variables),
            order=tuple(compiled.positiontup) if compiled.positional else None,
            keys=tuple(column.key for column in columns),
            processors=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            ),
        )

    def one(self, connection: Connection, **values: Any) -> dict[str, Any] | None:
        prepared = self._prepare(connection.dialect)
        named = dict(prepared.constants)
        for name, process in prepared.variables:
            value = values[name]
            named[name] = process(value) if process is not None else value
        parameters: Mapping[str, Any] | tuple[Any, ...] = (
            tuple(named[key] for key in prepared.order) if prepared.order is not None else named
        )
        sql = prepared.sql
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        try:
            dispatch = connection.dispatch
            for listener in dispatch.before_cursor_execute:
                sql, parameters = listener(connection, cursor, sql, parameters, None, False)
            try:
                cursor.execute(sql, parameters)
                row = cursor.fetchone()
            except connection.dialect.loaded_dbapi.Error as error:
                raise exc.DBAPIError.instance(
                    sql, parameters, error, connection.dialect.loaded_dbapi.Error,
                    dialect=connection.dialect) from error
            for listener in dispatch.after_cursor_execute:
                listener(connection, cursor, sql, parameters, None, False)
        finally:
            cursor.close()
        if row is None:
            return None
        return {
            key: process(value) if process is not None else value
            for key, process, value in zip(prepared.keys, prepared.processors, row,
                                           strict=True)
        }
