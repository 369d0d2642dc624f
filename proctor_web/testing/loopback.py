"""Real servers on 127.0.0.1 for the integration tests and the benchmarks (``bench/``).

Everything here starts something and always stops it (a context manager, or ``close()``):

- ``Gate``: a TCP port that accepts connections and says nothing (a hanging SMTP server or
  provider) until it is opened, then pipes them to the real server behind it;
- ``Inbox`` and ``smtp_server``: a loopback SMTP server (aiosmtpd) keeping what it receives;
- ``fake_provider``: the fake REST provider (``proctor_web.testing.fake_provider``) in its own
  process;
- ``gunicorn_app``: the app served by gunicorn from the shipped ``gunicorn.conf.py``, ready
  once ``/readyz`` answers 200; ``celery_worker``: ``flask proctor worker`` until "ready.";
- ``scratch_postgres``: an empty PostgreSQL database, dropped afterwards.

aiosmtpd (dev extra) and psycopg are imported only by the helpers that need them.
"""

from __future__ import annotations

import email
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout):
            return True
    except OSError:
        return False


def wait_for(check: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


class Inbox:
    """aiosmtpd handler keeping what it receives, and when (``time.time()``)."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.received_at: list[float] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        self.received_at.append(time.time())
        return "250 OK"


@contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """An SMTP server on a free 127.0.0.1 port handing messages to ``handler``; its port."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=5)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


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

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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


@contextmanager
def process(command: Sequence[str], env: Mapping[str, str], log_path: Path,
            stop_timeout: float = 20) -> Iterator[subprocess.Popen]:
    """Run ``command`` from the repository root, output to ``log_path``; SIGTERM at the end
    (SIGKILL if it has not stopped after ``stop_timeout`` seconds)."""
    with log_path.open("w") as log:
        child = subprocess.Popen(list(command), cwd=ROOT, env=dict(env), stdout=log,
                                 stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def app_environment(**settings: str) -> dict[str, str]:
    """This process's environment without its PROCTOR_* and PROMETHEUS_* variables, with
    the repository on PYTHONPATH and ``settings`` added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCTOR_", "PROMETHEUS_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env


@contextmanager
def gunicorn_process(env: Mapping[str, str], log_path: Path, workers: int = 1,
                     port: int | None = None,
                     timeout: float = 30) -> Iterator[tuple[str, subprocess.Popen]]:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` on 127.0.0.1 with ``env``
    (``app_environment``); yields the base URL and the master process once ``/readyz``
    answers 200."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PROCTOR_SITE_URL": base, **env, "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_WORKERS": str(workers)}
    with process([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                 env, log_path) as server:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("gunicorn did not become ready:\n"
                                     + log_path.read_text()[-3000:])
            time.sleep(0.2)
        yield base, server


@contextmanager
def gunicorn_app(env: Mapping[str, str], log_path: Path, workers: int = 1,
                 port: int | None = None, timeout: float = 30) -> Iterator[str]:
    """``gunicorn_process`` when only the base URL matters."""
    with gunicorn_process(env, log_path, workers, port, timeout) as (base, _):
        yield base


@contextmanager
def celery_worker(env: Mapping[str, str], log_path: Path, concurrency: int = 1,
                  extra: Sequence[str] = (), timeout: float = 60,
                  node_name: str | None = None) -> Iterator[subprocess.Popen]:
    """``flask --app proctor_web proctor worker`` with ``env`` (which names the broker and
    queue), once it says it is ready. ``node_name`` (``--hostname``) is needed for a second
    worker on one host over RabbitMQ, whose control queue is exclusive to a node name."""
    command = [sys.executable, "-m", "flask", "--app", "proctor_web", "proctor", "worker"]
    if node_name:
        command += ["--hostname", node_name]
    command += ["--concurrency", str(concurrency), *extra]
    with process(command, env, log_path) as worker:
        wait_for(lambda: "ready." in log_path.read_text() or worker.poll() is not None,
                 timeout=timeout, interval=0.2)
        if worker.poll() is not None:
            raise AssertionError("the worker stopped:\n" + log_path.read_text()[-3000:])
        yield worker


@contextmanager
def fake_provider(client_secret: str, lms_client_secret: str,
                  extra: Sequence[str] = ()) -> Iterator[int]:
    """The fake REST provider in its own process on a free port; yields the port."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "proctor_web.testing.fake_provider", "--port", "0",
               "--client-secret", client_secret, "--lms-client-secret", lms_client_secret,
               *extra]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, env=env) as child:
        try:
            lines: queue.Queue[str] = queue.Queue()
            assert child.stdout is not None
            stdout = child.stdout
            threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
            banner = lines.get(timeout=15)
            if not banner.startswith("Fake proctoring provider listening on"):
                raise AssertionError(f"the fake provider did not start: {banner!r}")
            yield int(banner.rsplit(":", 1)[1].strip().rstrip("/"))
        finally:
            child.terminate()
            child.wait(timeout=10)


def create_postgres_database(prefix: str, admin_url: str = PG_ADMIN_URL) -> str:
    """Create an empty database named after ``prefix``; returns its URL."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str, admin_url: str = PG_ADMIN_URL) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_postgres(prefix: str, admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """An empty PostgreSQL database, dropped at the end (even on Ctrl-C); yields its URL."""
    url = create_postgres_database(prefix, admin_url)
    try:
        yield url
    finally:
        drop_postgres_database(url, admin_url)
