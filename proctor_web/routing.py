"""URL converters shared by every blueprint."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

#: Row ids are PostgreSQL ``integer`` columns.
MAX_DATABASE_ID = 2**31 - 1
#: Ids start at 1, so 0 names no row.
NO_ROW_ID = 0


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in our routes is always a row id. A number beyond the column's range names
    no row; it becomes 0, which names none either, so the view answers its own 404 instead
    of PostgreSQL refusing the query (a 500). (A ``max=`` on the converter would not do: the
    router then answers 405 when another method's route has the same path.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_DATABASE_ID else NO_ROW_ID
