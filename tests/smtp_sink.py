"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and helpers to read
the messages: the ``mail_inbox`` fixture points the app's ``MAIL_*`` settings at it."""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mail_inbox(app, monkeypatch) -> Iterator[Inbox]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT_SECONDS", 5)
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


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
