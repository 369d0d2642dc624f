"""URL converters and view marks shared by every blueprint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
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


_VIEW = TypeVar("_VIEW", bound=Callable[..., Any])


def signs_in_from_its_rows(view: _VIEW) -> _VIEW:
    """Mark a view that loads the signed-in user together with its own rows (the timer poll,
    the status write: ``adopt_signed_in_user``) and refuses a missing or stale session
    itself. The request hooks that would otherwise load the user first (the refusal of
    anonymous API writes, remembering the user's language) leave it to the view."""
    view.signs_in_from_its_rows = True  # type: ignore[attr-defined]
    return view


def signs_in_itself() -> bool:
    """Whether this request's view is marked ``signs_in_from_its_rows``."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "signs_in_from_its_rows", False))
