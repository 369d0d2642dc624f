"""Page size and the ``page`` query parameter shared by the dashboard's paginated lists."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from proctor_web.errors import BadRequest

PAGE_SIZE = 25


def parse_page(value: Any) -> int:
    if value in (None, ""):
        return 1
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1 or int(text) > 1_000_000:
        raise BadRequest(_("%(field)s: expected a page number from 1, got %(value)s.",
                           field="page", value=repr(value)), field="page")
    return int(text)
