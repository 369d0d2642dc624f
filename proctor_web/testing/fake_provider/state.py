"""The fake provider's in-memory state (exams, attempts, onboarding, callbacks) under one lock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from proctor_web.testing.fake_provider.settings import RUNTIME_SETTINGS


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ProviderState:
    """All mutable provider data; every read or write of it happens under ``lock``."""

    settings: dict[str, Any]
    initial_settings: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    exams: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # course_id -> user_id -> {user_id, status, expiration_date}
    onboarding: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    callback_log: list[dict[str, Any]] = field(default_factory=list)
    # (lms token url, client id) -> (access token, monotonic expiry)
    lms_tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    # attempt external id -> what the stand-in desktop application saw of that session
    desktop_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    timers: dict[tuple[str, str], threading.Timer] = field(default_factory=dict)
    # Replaced on every reset. Background work captures the current one and stops (and stops
    # writing) once it is set, so a callback still in flight from an earlier test can never leak
    # into a fresh state.
    epoch: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        with self.lock:
            self._cancel_background_locked()
            self.settings = dict(self.initial_settings)
            self.exams.clear()
            self.attempts.clear()
            self.onboarding.clear()
            self.callback_log.clear()
            self.lms_tokens.clear()
            self.desktop_sessions.clear()

    def close(self) -> None:
        """Cancel pending callbacks and wake any hanging request, for a clean server shutdown."""
        with self.lock:
            self._cancel_background_locked()

    def _cancel_background_locked(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self.epoch.set()
        self.epoch = threading.Event()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "settings": {key: self.settings[key] for key in sorted(RUNTIME_SETTINGS)},
                "exams": {key: dict(value) for key, value in self.exams.items()},
                "attempts": {key: dict(value) for key, value in self.attempts.items()},
                "onboarding": {
                    course: list(users.values()) for course, users in self.onboarding.items()
                },
                "callback_log": [dict(entry) for entry in self.callback_log],
                "desktop_sessions": {
                    key: dict(value) for key, value in self.desktop_sessions.items()
                },
                "pending_callbacks": sorted(f"{aid}:{kind}" for aid, kind in self.timers),
            }


def get_state(app: Flask) -> ProviderState:
    state: ProviderState = app.extensions["fake_provider"]
    return state
