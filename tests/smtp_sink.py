"""The ``mail_inbox`` fixture: a real SMTP server on loopback (``testing.loopback``) that the
app's ``MAIL_*`` settings point at, and helpers to read what it received."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message

import pytest

from proctor_web.testing.loopback import Inbox, smtp_server


@pytest.fixture
def mail_inbox(app, monkeypatch) -> Iterator[Inbox]:
    handler = Inbox()
    with smtp_server(handler) as port:
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        monkeypatch.setitem(app.config, "MAIL_TIMEOUT_SECONDS", 5)
        yield handler


def subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def part(message: Message, content_type: str) -> str:
    for piece in message.walk():
        if piece.get_content_type() == content_type:
            return piece.get_payload(decode=True).decode()
    raise AssertionError(f"no {content_type} part")


def set_password_link(message: Message) -> str:
    """The one "choose your password" link of an email (its HTML part)."""
    (link,) = set(re.findall(r'href="([^"]*/password/set/[^"]+)"', part(message, "text/html")))
    return link
