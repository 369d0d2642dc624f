"""Handing committed outbox rows to background work.

``BACKGROUND_MODE`` (default: ``celery`` when ``CELERY_BROKER_URL`` is set, else
``thread``):

- ``thread``: one daemon thread per process takes rows from a queue and runs the task
  bodies of ``jobs``; failed rows are retried by the same thread with backoff. Nothing to
  install or run beside the app.
- ``celery``: a task per row is published to the broker (by a thread of this process, so
  a broker outage never holds a request); Celery workers deliver. A broker that cannot be
  reached leaves the row pending for the sweep (beat or cron).
- ``sync``: delivery in this process after the response, as before (unit tests only: their
  database fixture is one transaction the thread could not see).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import threading
import time

from flask import Flask, current_app, has_app_context

from proctor_web.tasks import jobs

log = logging.getLogger(__name__)

Item = tuple[str, int]


def mode(app: Flask) -> str:
    chosen = app.config.get("BACKGROUND_MODE")
    if chosen:
        return str(chosen)
    return "celery" if app.config.get("CELERY_BROKER_URL") else "thread"


def enqueue(app: Flask, items: list[Item]) -> None:
    """Hand ``items`` (committed outbox rows) to background work; never raises."""
    try:
        chosen = mode(app)
        if chosen == "celery":
            # Published from a thread too: a broker that is down or slow must not hold the
            # web worker either (kombu and redis-py retry connecting for seconds).
            background_thread(app, CeleryPublisher).submit(items)
        elif chosen == "sync":
            _deliver_here(app, items)
        else:
            embedded_worker(app).submit(items)
    except Exception:  # the rows stay pending: the sweep delivers them
        log.exception("could not hand %d outbox row(s) to background work", len(items))


def _deliver_here(app: Flask, items: list[Item]) -> None:
    # Inside this app's context already (tests): a new context would end its session.
    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        for kind, row_id in items:
            jobs.deliver_row(kind, row_id)
    else:
        with app.app_context():
            _deliver_here(app, items)


def _publish(app: Flask, items: list[Item]) -> None:
    from proctor_web.tasks.celery_app import get_celery

    task = get_celery(app).tasks["proctor.deliver"]
    for kind, row_id in items:
        try:
            # retry=False: a broker outage must not hold this worker; the sweep recovers.
            task.apply_async(args=(kind, row_id), retry=False)
        except Exception:
            log.warning("broker unreachable: outbox %s %s left for the sweep", kind, row_id,
                        exc_info=True)


class EmbeddedWorker:
    """A queue and one daemon thread calling ``jobs.deliver_row``; retries wait in a heap."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.queue: queue.Queue[tuple[Item, int]] = queue.Queue()
        self._later: list[tuple[float, int, Item, int]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def submit(self, items: list[Item], retries: int = 0) -> None:
        self._ensure_thread()
        for item in items:
            self.queue.put((item, retries))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted row has been tried once (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.queue.unfinished_tasks

    def _ensure_thread(self) -> None:
        with self._lock:
            # After a fork (gunicorn) the thread stayed in the parent: start ours.
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                if self._pid != os.getpid():
                    self.queue = queue.Queue()
                    self._later = []
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="proctor-background")
                self._thread.start()

    def _run(self) -> None:
        while True:
            timeout = None
            if self._later:
                timeout = max(self._later[0][0] - time.monotonic(), 0.0)
            try:
                item, retries = self.queue.get(timeout=timeout)
            except queue.Empty:
                _, _, item, retries = heapq.heappop(self._later)
                self._try(item, retries)
                continue
            try:
                self._try(item, retries)
            finally:
                self.queue.task_done()

    def _try(self, item: Item, retries: int) -> None:
        kind, row_id = item
        try:
            with self.app.app_context():
                due_in = jobs.deliver_row(kind, row_id)
        except Exception:
            log.exception("background delivery of outbox %s %s failed", kind, row_id)
            due_in = 0.0
        if due_in is not None and retries < _retry_limit(self.app):
            heapq.heappush(self._later, (time.monotonic() + jobs.retry_delay(retries, due_in),
                                         next(self._order), item, retries + 1))


class CeleryPublisher(EmbeddedWorker):
    """The same queue and thread, publishing one Celery task per row instead of delivering."""

    def _try(self, item: Item, retries: int) -> None:
        _publish(self.app, [item])


def _retry_limit(app: Flask) -> int:
    # Rows dead-letter after OUTBOX_MAX_TRIES failed calls; waiting behind an earlier event
    # costs retries without a call, hence the margin. Beyond it the sweep takes over.
    return 3 * int(app.config.get("OUTBOX_MAX_TRIES") or 8)


_workers: dict[tuple[int, type], EmbeddedWorker] = {}
_workers_lock = threading.Lock()


def background_thread(app: Flask, kind: type[EmbeddedWorker] = EmbeddedWorker) -> EmbeddedWorker:
    with _workers_lock:
        worker = _workers.get((id(app), kind))
        if worker is None or worker.app is not app:
            worker = _workers[(id(app), kind)] = kind(app)
        return worker


def embedded_worker(app: Flask) -> EmbeddedWorker:
    """The thread delivering this app's rows in ``thread`` mode."""
    return background_thread(app, EmbeddedWorker)
