"""Parsing of untrusted input into typed values, with messages a person can act on.

Every parser raises ``BadRequest`` naming the field, and accepts the spellings real clients
send: edx-proctoring's clients post booleans as the strings "true"/"false".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _

from proctor_web.errors import BadRequest

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def require_text(value: Any, field: str, max_length: int = 255) -> str:
    if value is None or not isinstance(value, (str, int)) or not str(value).strip():
        raise BadRequest(_("%(field)s: this field is required.", field=field), field=field)
    text = str(value).strip()
    if len(text) > max_length:
        raise BadRequest(_("%(field)s: at most %(maximum)d characters.", field=field,
                           maximum=max_length), field=field)
    return text


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
              maximum: int | None = None) -> int:
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


def parse_positive_int(value: Any, field: str, maximum: int | None = None) -> int:
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
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
