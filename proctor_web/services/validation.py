"""Parsing of untrusted input into typed values, with messages a person can act on.

Every parser raises ``BadRequest`` naming the field, and accepts the spellings real clients
send: edx-proctoring's clients post booleans as the strings "true"/"false".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from proctor_web.errors import BadRequest

#: The largest value an ``Integer`` column holds on PostgreSQL (and the id range we accept).
MAX_DB_INTEGER = 2**31 - 1
#: Dates outside these years are refused: nothing real is scheduled there, and adding an
#: allowance or a time zone offset to them must not overflow Python's datetime.
EARLIEST_YEAR = 1900
LATEST_YEAR = 9000

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def require_text(value: Any, field: str, max_length: int | None = 255) -> str:
    if isinstance(value, (list, dict)):
        raise _not_text(value, field)
    if value is None or not isinstance(value, (str, int)) or not str(value).strip():
        raise BadRequest(_("%(field)s: this field is required.", field=field), field=field)
    text = str(value).strip()
    check_length(text, max_length, field)
    return text


def optional_text(value: Any, field: str, max_length: int | None = 255) -> str | None:
    """A string (or number) as text; None or "" as None; a list or an object is refused."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _not_text(value, field)
    text = str(value)
    check_length(text, max_length, field)
    return text


def check_length(text: str, max_length: int | None, field: str) -> None:
    """The one length rule, shared by form parsing and the flush-time column check."""
    if max_length is not None and len(text) > max_length:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field=field,
                           maximum=max_length), field=field)


def _not_text(value: Any, field: str) -> BadRequest:
    if isinstance(value, list):
        message = _("%(field)s: expected text, got a list.", field=field)
    elif isinstance(value, dict):
        message = _("%(field)s: expected text, got an object.", field=field)
    else:
        message = _("%(field)s: expected text.", field=field)
    return BadRequest(message, field=field)


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise BadRequest(_("%(field)s: expected true or false, got %(value)s.", field=field,
                       value=repr(value)), field=field)


def parse_int(value: Any, field: str, minimum: int | None = None,
              maximum: int | None = MAX_DB_INTEGER) -> int:
    """A whole number; by default one an integer column can store."""
    if isinstance(value, bool):
        raise BadRequest(_("%(field)s: expected a whole number, got %(value)s.", field=field,
                           value=repr(value)), field=field)
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise BadRequest(_("%(field)s: expected a whole number, got %(value)s.", field=field,
                           value=repr(value)), field=field) from None
    if minimum is not None and number < minimum:
        raise BadRequest(_("%(field)s: must be at least %(minimum)d.", field=field,
                           minimum=minimum), field=field)
    if maximum is not None and number > maximum:
        raise BadRequest(_("%(field)s: must be at most %(maximum)d.", field=field,
                           maximum=maximum), field=field)
    return number


def parse_positive_int(value: Any, field: str, maximum: int | None = MAX_DB_INTEGER) -> int:
    return parse_int(value, field, minimum=1, maximum=maximum)


def parse_datetime(value: Any, field: str) -> datetime | None:
    """ISO-8601 to aware UTC; a value without an offset is taken as UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise BadRequest(
                _("%(field)s: expected an ISO-8601 date and time such as %(example)s, got "
                  "%(value)s.", field=field, example="2026-12-01T17:00:00Z", value=repr(value)),
                field=field,
            ) from None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise BadRequest(_("%(field)s: the year must be between %(first)d and %(last)d.",
                           field=field, first=EARLIEST_YEAR, last=LATEST_YEAR), field=field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def column_length(model: type, attribute: str) -> int | None:
    """The declared length of a string column (None for unbounded text)."""
    column = sa_inspect(model).columns[attribute]
    return getattr(column.type, "length", None)


def refuse_overlong_strings(session: Session, flush_context: Any, instances: Any) -> None:
    """Before each flush: no string longer than its column, on every database.

    PostgreSQL refuses such a value with an error deep in the flush and SQLite stores it
    silently; this check answers the same clear 400 on both, naming the field, whichever
    caller set the value.
    """
    for instance in list(session.new) + list(session.dirty):
        state = sa_inspect(instance)
        for column in state.mapper.columns:
            length = getattr(column.type, "length", None)
            if not length or not isinstance(column.type, String):
                continue
            key = state.mapper.get_property_by_column(column).key
            value = state.dict.get(key)
            if isinstance(value, str):
                check_length(value, length, key)


def install_column_length_check() -> None:
    if not event.contains(Session, "before_flush", refuse_overlong_strings):
        event.listen(Session, "before_flush", refuse_overlong_strings)
