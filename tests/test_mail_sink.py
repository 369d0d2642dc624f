"""The demo's mail sink prints one line per email it receives."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from proctor_web.testing.mail_sink import PrintSubjects


def test_prints_recipient_and_subject(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(PrintSubjects(), hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        message = EmailMessage()
        message["From"] = "proctoring@example.com"
        message["To"] = "alice@example.com"
        message["Subject"] = "Tu examen supervisado se entregó"
        message.set_content("body")
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.send_message(message)
    finally:
        controller.stop()
    assert capsys.readouterr().out == (
        "==> email to alice@example.com: Tu examen supervisado se entregó\n")
