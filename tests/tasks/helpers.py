"""Servers for the background-work tests: a gate that holds TCP connections (a hanging SMTP
server or provider) until it is opened, then forwards them to the real server behind it."""

from __future__ import annotations

import email
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


class Inbox:
    """aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


class Gate:
    """Accepts connections on 127.0.0.1 and says nothing (a hanging server) while closed;
    once opened, held and new connections are piped to ``upstream``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.opened = threading.Event()
        self.stopped = threading.Event()
        self.held = 0
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def open(self) -> None:
        self.opened.set()

    def close(self) -> None:
        self.stopped.set()
        self.opened.set()
        self.thread.join(timeout=5)
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.held += 1
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        with client:
            self.opened.wait()
            if self.stopped.is_set():
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), 5)
            except OSError:
                return
            with upstream:
                ends = [client, upstream]
                while not self.stopped.is_set():
                    readable, _, _ = select.select(ends, [], [], 0.2)
                    for end in readable:
                        data = end.recv(65536)
                        if not data:
                            return
                        (upstream if end is client else client).sendall(data)
