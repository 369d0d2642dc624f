"""A clean-room fake REST proctoring provider: the provider side of edx-proctoring's REST contract.

proctor_web's REST backend and its demo need a real HTTP peer: something that issues OAuth2 tokens,
accepts exam and attempt registrations and later calls the LMS back with "ready" and "reviewed".
The one public fake (openedx/mockprock) is not installable here, does not start on Python 3.11,
never verifies tokens, always reviews "passed" and has fixed delays. So this package is written from
the documented contract instead, with knobs for the outcomes and failures the tests need.

Everything is kept in memory behind one lock, so a test can start a fresh provider without touching
disk; the ``/_control/`` endpoints let a test inspect or steer it at run time.

Run it with ``python -m proctor_web.testing.fake_provider --help``.

Its modules, one job each: ``app`` (the Flask factory, failure modes, OAuth2 tokens),
``provider_api`` (the REST API edx-proctoring calls and the system-check page), ``control_api``
(``/_control/``), ``desktop_app`` (the stand-in desktop application that the browser worker
``worker.js`` asks), ``lms_callbacks`` (the "ready" and "reviewed" calls back to the LMS),
``state`` (the in-memory store), ``settings`` and ``texts`` (defaults, checks and what the fake
says), ``serving`` (a background server for tests) and ``cli`` (the command line).
"""

from proctor_web.testing.fake_provider.app import create_fake_provider
from proctor_web.testing.fake_provider.cli import main
from proctor_web.testing.fake_provider.desktop_app import worker_script
from proctor_web.testing.fake_provider.lms_callbacks import deliver_callback, schedule_callback
from proctor_web.testing.fake_provider.serving import BackgroundServer, serve_in_background
from proctor_web.testing.fake_provider.settings import (
    DEFAULT_SETTINGS,
    REVIEW_OUTCOMES,
    RUNTIME_SETTINGS,
    validate_settings,
)
from proctor_web.testing.fake_provider.state import ProviderState
from proctor_web.testing.fake_provider.texts import review_body

__all__ = [
    "DEFAULT_SETTINGS",
    "REVIEW_OUTCOMES",
    "RUNTIME_SETTINGS",
    "BackgroundServer",
    "ProviderState",
    "create_fake_provider",
    "deliver_callback",
    "main",
    "review_body",
    "schedule_callback",
    "serve_in_background",
    "validate_settings",
    "worker_script",
]
