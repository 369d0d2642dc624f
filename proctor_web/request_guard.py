"""Refuse hostile input before any view or database sees it.

Every request passes one check, whatever blueprint serves it: no NUL character in the path,
the query string, a form field or a JSON string (PostgreSQL cannot store NUL in text, so it
would fail deep inside a query), no JSON nested deeper than ``MAX_JSON_DEPTH`` (Python's
parser would exhaust its recursion limit), and no body above ``MAX_CONTENT_LENGTH`` (413).
An integer in a path that no integer column can hold (``attempt/99999999999999999999``) is a
plain 404 instead of an overflow in the query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext as _

from proctor_web.errors import BadRequest, NotFound
from proctor_web.services.validation import MAX_DB_INTEGER

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]")


def init_request_guard(app: Flask) -> None:
    # First of all before-request hooks (CSRF, rate limits, sign-in): refusing malformed
    # input costs nothing, and no later hook should have to parse it.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_hostile_input)


def refuse_hostile_input() -> None:
    _refuse_nul(request.path, lambda: _("The address"), None)
    _refuse_ids_beyond_columns(request.view_args or {})
    credentials = request.authorization  # Basic credentials are base64: NUL fits inside
    if credentials is not None and credentials.type == "basic":
        _refuse_nul(f"{credentials.username}{credentials.password}",
                    lambda: _("The Authorization header"), None)
    for key, value in request.args.items(multi=True):
        _refuse_nul(key + value,
                    lambda key=key: _("The query parameter %(name)s", name=_shown(key)), key)
    if request.mimetype in _FORM_TYPES:
        for key, value in request.form.items(multi=True):  # 413 here if over the limit
            _refuse_nul(key + value,
                        lambda key=key: _("The form field %(name)s", name=_shown(key)), key)
        return
    raw = request.get_data(cache=True)  # 413 here if over the limit
    if raw.lstrip()[:1] in (b"{", b"["):
        _check_json(raw, int(current_app.config["MAX_JSON_DEPTH"]))


def _refuse_ids_beyond_columns(view_args: dict[str, Any]) -> None:
    """An ``<int:...>`` id no integer column can hold names nothing: 404, not an overflow.

    Checked here rather than by a bounded converter, because werkzeug answers 405 instead of
    404 when a converter refuses a value that another method's rule would also match.
    """
    for name, value in view_args.items():
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_DB_INTEGER:
            raise NotFound(_("No %(name)s %(value)s exists here.", name=name, value=value))


def json_nesting_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text go, without parsing it."""
    brackets = _NOT_A_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw))
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _check_json(raw: bytes, max_depth: int) -> None:
    if raw.count(b"[") + raw.count(b"{") > max_depth and json_nesting_depth(raw) > max_depth:
        raise BadRequest(_("The JSON body is nested more than %(limit)d levels deep.",
                           limit=max_depth))
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return  # not JSON after all: the view answers its own 400 if it wanted JSON
    for path, text in _strings(document):
        _refuse_nul(text, lambda path=path: _("The JSON field %(name)s", name=_shown(path)), path)


def _strings(document: Any) -> Iterable[tuple[str, str]]:
    """Every key and string value of a parsed JSON document, with a path naming it."""
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        path, node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else str(key)
                yield child, key
                pending.append((child, value))
        elif isinstance(node, list):
            pending.extend((f"{path}[{index}]", value) for index, value in enumerate(node))
        elif isinstance(node, str):
            yield path or "(body)", node


def _shown(name: str) -> str:
    """A field name fit to echo back: NUL made visible, length bounded."""
    visible = name.replace("\x00", "\\0")
    return repr(visible if len(visible) <= 80 else visible[:77] + "...")


def _refuse_nul(text: str, where: Callable[[], str], field: str | None) -> None:
    """``where`` names the place in the reader's language; it is only asked for on a refusal
    (translating costs more than the check, on every request)."""
    if "\x00" in text:
        extra = {"field": field.replace("\x00", "\\0")[:200]} if field is not None else {}
        raise BadRequest(_("%(where)s contains a NUL character, which is not allowed.",
                           where=where()), **extra)
