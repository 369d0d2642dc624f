"""Declarative base: constraint naming convention, UTC datetimes, created/modified stamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, MetaData, Table, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

# The app's one clock (shifted when the test clock is on); models stamp rows with it.
from proctor_web.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in Python on every database.

    SQLite has no timezone type and would hand back naive values; PostgreSQL stores
    ``timestamptz``. Either way the application only ever sees aware UTC datetimes, and a
    naive value on the way in is a bug we refuse rather than guess about.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use timezone-aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = getattr(cls, "__table__", None)
        if isinstance(table, Table) and has_surrogate_id(table):
            never_reuse_ids(table)


def has_surrogate_id(table: Table) -> bool:
    """A table keyed by one integer ``id`` column the database numbers itself."""
    columns = list(table.primary_key.columns)
    return (len(columns) == 1 and columns[0].name == "id"
            and isinstance(columns[0].type, Integer) and not columns[0].foreign_keys)


def never_reuse_ids(table: Table) -> None:
    """Make SQLite number rows with AUTOINCREMENT.

    Without it SQLite hands out max(id) + 1, so deleting the newest row (a staff reset of an
    attempt) gives its id to the next row: a client still holding the old id would see
    another learner's attempt, and the history of both would share one id. PostgreSQL's
    sequences never go back, so this only changes SQLite's DDL. Migration 0005 rebuilt the
    tables that existed before; a new table's migration passes ``sqlite_autoincrement=True``.
    """
    table.dialect_options["sqlite"]["autoincrement"] = True


class TimestampMixin:
    created: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    modified: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)
