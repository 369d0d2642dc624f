"""A local SMTP sink for the demo: prints one line per email instead of delivering it.

``python -m aiosmtpd -n -l 127.0.0.1:8025 -c proctor_web.testing.mail_sink.PrintSubjects``
(``scripts/run`` starts it), so the status emails of the demo show up in the terminal.
"""

from __future__ import annotations

import sys
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any


class PrintSubjects:
    """aiosmtpd handler: accept every message and print who it is for and its subject."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content)
        subject = str(make_header(decode_header(message.get("Subject", ""))))
        print(f"==> email to {', '.join(envelope.rcpt_tos)}: {subject}", file=sys.stdout,
              flush=True)
        return "250 Message accepted"
