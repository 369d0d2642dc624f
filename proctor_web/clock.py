"""The app's one clock, and the opt-in test clock that shifts it.

Every "now" of the app comes from ``utcnow`` (``proctor_web.models.utcnow`` is this
function): views pass it to services, models use it for their time stamps, payloads carry
it as ``server_time`` (which the browser timer follows), and the sweep expires attempts by
it. So one offset here moves the whole app in time.

The test clock lets operators and integrators test expiry end to end against a running
server without waiting: with ``PROCTOR_ALLOW_TEST_CLOCK=1`` and ``PROCTOR_TEST_CLOCK_FILE``
naming a file holding ``{"offset_seconds": N}``, every "now" is shifted by N seconds. The
file is read again whenever it changes (so each request sees the offset written before it;
one request sees one offset). A missing file means no shift; an unreadable one is logged
and means no shift. Times sent to providers for their authentication (RPNow's signed Date,
a JWT's expiry, OAuth token lifetimes kept in memory) stay real, or providers would refuse
them.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from threading import Lock

from flask import Flask, current_app, g, has_app_context, has_request_context

log = logging.getLogger(__name__)

EXTENSION_KEY = "proctor_test_clock"
_NO_SHIFT = timedelta(0)


def real_utcnow() -> datetime:
    """The machine's time, never shifted: for what other parties check (signatures)."""
    return datetime.now(UTC)


def utcnow() -> datetime:
    """Now, as the app sees it: real time, shifted by the test clock when one is on."""
    return real_utcnow() + current_offset()


def current_offset() -> timedelta:
    if not has_app_context():
        return _NO_SHIFT
    clock: TestClock | None = current_app.extensions.get(EXTENSION_KEY)
    if clock is None:
        return _NO_SHIFT
    if has_request_context():
        # One request, one offset, even if the file changes while it runs.
        offset = g.get("_test_clock_offset")
        if offset is None:
            offset = g._test_clock_offset = clock.offset()
        return offset
    return clock.offset()


@dataclass
class TestClock:
    """Reads ``{"offset_seconds": N}`` from ``path`` whenever the file changes."""

    __test__ = False  # not a pytest test class, whatever its name

    path: str
    _seen: tuple[int, int] | None = None
    _offset: timedelta = _NO_SHIFT
    _lock: Lock = field(default_factory=Lock)

    def offset(self) -> timedelta:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return _NO_SHIFT
        except OSError as error:
            log.warning("test clock file %s unreadable, no shift: %s", self.path, error)
            return _NO_SHIFT
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._seen:
                self._offset = self._read()
                self._seen = stamp
            return self._offset

    def _read(self) -> timedelta:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            seconds = data["offset_seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise ValueError("offset_seconds must be a number")
            offset = timedelta(seconds=seconds)
        except (OSError, ValueError, KeyError, TypeError, OverflowError) as error:
            log.error("test clock file %s is not {\"offset_seconds\": <number>}; no shift: %s",
                      self.path, error)
            return _NO_SHIFT
        log.warning("test clock: now is shifted by %s (%s s)", offset, seconds)
        return offset


def init_app(app: Flask) -> None:
    """Install the test clock when the configuration asks for it (``config`` checked it)."""
    path = app.config.get("TEST_CLOCK_FILE")
    if not (path and app.config.get("ALLOW_TEST_CLOCK")):
        return
    app.extensions[EXTENSION_KEY] = TestClock(str(path))
    log.warning("TEST CLOCK ON: this server's time is not real. Every 'now' is shifted by "
                "the offset_seconds in %s. Never run a real exam on it.", path)
