"""Rows a request commits reach background work even when the client resets the connection.

The app is served by werkzeug's threaded development server, as in ``flask run`` and the
live servers of the e2e and browser tests. Once it has written a response, that server drains
the socket before it calls the body's ``close()`` (where ``call_on_close`` callbacks, and so
the outbox's hand-over, run); a client that resets the connection then makes the drain raise
and ``close()`` was skipped: the committed email below stayed pending, with no log line,
until the sweep. Chromium resets connections that way after a redirect; that was the
fake-provider demo's "stop" event left pending.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from flask import Flask, redirect
from werkzeug.serving import make_server

from proctor_web import create_app
from proctor_web.extensions import db
from proctor_web.models import DeliveryStatus, EmailMessage, utcnow
from proctor_web.response_close import CloseWhenSent
from proctor_web.services import outbox
from tests.conftest import app_config, scratch_database
from tests.tasks.helpers import Inbox, free_port, wait_for

#: Long enough for a loaded machine; a row the hand-over lost never gets delivered at all.
DELIVERY_SECONDS = 10


class Handshake:
    """Lets the client send its stray byte only once the server has read the request, so
    the byte is left in the socket for the server's drain after the response."""

    def __init__(self) -> None:
        self.in_view = threading.Event()
        self.byte_sent = threading.Event()


@pytest.fixture
def served(db_backend, postgres_available, tmp_path) -> Iterator[tuple[str, Flask, Inbox,
                                                                     Handshake]]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    smtp.start()
    handshake = Handshake()
    with scratch_database(db_backend, tmp_path, "proctor_after_response",
                          postgres_available) as url:
        app = create_app(app_config(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port,
                                    MAIL_TIMEOUT_SECONDS=5, PROPAGATE_UNEXPECTED=False))

        @app.post("/queue-email")
        def queue_email():  # a learner's action, reduced to its outbox row: commit, 303
            now = utcnow()
            row = EmailMessage(template="attempt_submitted", recipient="lena@example.org",
                               subject="Submitted", html_body="<p>done</p>", text_body="done",
                               status=DeliveryStatus.PENDING.value, tries=0,
                               next_attempt_at=now, created_at=now)
            db.session.add(row)
            db.session.flush()
            outbox.mark_for_delivery(db.session(), "email", row.id)
            db.session.commit()
            handshake.in_view.set()
            handshake.byte_sent.wait(timeout=5)
            return redirect("/elsewhere", code=303)

        with app.app_context():
            db.create_all()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"127.0.0.1:{server.server_port}", app, inbox, handshake
        finally:
            server.shutdown()
            thread.join(timeout=10)
            smtp.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def post_and_leave(address: str, handshake: Handshake, *, reset: bool) -> bytes:
    """POST, read the whole answer, then close the connection: with a reset (RST, as
    Chromium does) or politely (FIN)."""
    host, port = address.split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    try:
        connection.sendall(f"POST /queue-email HTTP/1.1\r\nHost: {address}\r\n"
                           "Content-Length: 0\r\n\r\n".encode())
        assert handshake.in_view.wait(timeout=10)
        if reset:
            connection.sendall(b"x")  # after the request: the server's drain reads on
        handshake.byte_sent.set()
        answer = read_answer(connection)
        if reset:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        connection.close()
    return answer


def read_answer(connection: socket.socket) -> bytes:
    """One whole answer (the server keeps the connection open while it drains)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += connection.recv(65536) or b"!"
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        chunk = connection.recv(65536)
        assert chunk, "the server closed the connection mid-answer"
        body += chunk
    return answer


def email_status(app: Flask) -> str | None:
    with app.app_context():
        row = db.session.execute(db.select(EmailMessage)).scalar_one_or_none()
        status = row.status if row is not None else None
        db.session.remove()
        return status


@pytest.mark.parametrize("reset", [True, False], ids=["client-resets", "client-closes"])
def test_a_committed_row_is_delivered_however_the_client_leaves(served, reset: bool):
    address, app, inbox, handshake = served

    answer = post_and_leave(address, handshake, reset=reset)

    assert answer.startswith(b"HTTP/1.1 303"), answer[:200]
    wait_for(lambda: email_status(app) == DeliveryStatus.DELIVERED.value,
             timeout=DELIVERY_SECONDS)
    assert [message["Subject"] for message in inbox.messages] == ["Submitted"]


class Body:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = 0

    def __iter__(self):
        return iter(self.chunks)

    def close(self) -> None:
        self.closed += 1


def test_a_body_closes_itself_once_the_server_has_taken_its_last_chunk():
    inner = Body([b"one", b"two"])
    body = CloseWhenSent(inner)

    assert next(body) == b"one"
    assert next(body) == b"two"
    assert inner.closed == 0  # "two" may not be written yet
    with pytest.raises(StopIteration):
        next(body)
    assert inner.closed == 1
    body.close()  # the server's own call, when it makes it
    assert inner.closed == 1


def test_a_body_the_server_stops_taking_is_closed_by_the_server():
    inner = Body([b"one", b"two"])
    body = CloseWhenSent(inner)

    assert next(body) == b"one"
    body.close()
    body.close()
    assert inner.closed == 1
