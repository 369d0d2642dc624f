"""Browser tests: the real app served on 127.0.0.1, driven by Debian's Chromium.

Fixtures for every browser test (learner and instructor alike):

- ``live_server`` (session): the app from ``create_app`` served by werkzeug on 127.0.0.1 on a
  free port, in a thread, against its own file SQLite database with the schema built by
  ``create_all`` and the demo data loaded by the ``proctor demo`` command. It exposes ``.url``
  (no trailing slash) and ``.app`` (use ``with live_server.app.app_context():`` to read or
  change rows; commit your changes so the server sees them).
- ``browser`` (session): a headless Chromium (``/usr/bin/chromium``, no download).
- ``page``: a fresh browser context and page per test, closed afterwards.
- ``login(page, username, password)``: signs in through the login form.
- ``shot(page, name)``: saves a full-page PNG under ``test-artifacts/screenshots/``.
- ``fresh_learner()``: a new learner enrolled in the demo course; returns (username, password).

The mock backend reports readiness ``MOCK_READY_AFTER_SECONDS`` after the system check click
so that proctored flows complete in a couple of seconds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from proctor_web import create_app
from proctor_web.backends import register_builtin
from proctor_web.backends.mock import MockBackend
from proctor_web.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    # One renderer process for a page and its cross-site frames. With site isolation on, the
    # LMS's frame of proctor_web is an out-of-process iframe, and the cookieless launches move
    # it tool -> LMS (/auth) -> tool (OIDC with platform storage); Playwright now and then lost
    # the frame on that second swap, and its locators waited until they timed out. Cookies,
    # postMessage and CSP frame-ancestors, what these tests check, do not depend on the
    # process model.
    "--disable-site-isolation-trials",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MOCK_READY_AFTER_SECONDS = 1
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

DEMO_PASSWORDS = {
    "staff": "staff-demo-pass",
    "instructor": "instructor-demo-pass",
    "alice": "alice-demo-pass",
    "bob": "bob-demo-pass",
}


class WorkerMockBackend(MockBackend):
    """The mock provider plus a browser worker script (``javascript_url``)."""

    optional_settings = (*MockBackend.optional_settings, "javascript_url")
    javascript_url: str | None = None

    def get_javascript(self) -> str | None:
        return self.javascript_url


class ExamCodeMockBackend(MockBackend):
    """A desktop-software provider without step-by-step instructions (the RPNow kind)."""

    def get_proctoring_config(self, locale: str = "en") -> dict[str, Any]:
        return {"name": "Desktop Proctor", "instructions": [], "rules": {},
                "download_url": self.software_download_url}


register_builtin("mock_worker", WorkerMockBackend)
register_builtin("mock_exam_code", ExamCodeMockBackend)

#: Worker scripts served at /test-support/<name>.js; tests may add their own before use.
TEST_WORKERS: dict[str, str] = {
    # Starts and ends sessions, but every ping fails: the desktop app "crashed".
    "failing-ping": """
self.onmessage = function (event) {
  var type = event.data.type;
  if (type === "startExamAttempt") self.postMessage({type: "examAttemptStarted"});
  else if (type === "endExamAttempt") self.postMessage({type: "examAttemptEnded"});
  else if (type === "ping") self.postMessage({type: "pingFailed", error: "desktop app closed"});
};
""",
    # The desktop app refuses to start.
    "failing-start": """
self.onmessage = function (event) {
  if (event.data.type === "startExamAttempt") {
    self.postMessage({type: "examAttemptStartFailed", error: "camera not found"});
  }
};
""",
}


@dataclass
class LiveServer:
    url: str
    app: Flask

    def path(self, path: str) -> str:
        return self.url + path


def live_server_config(database_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        # Unexpected errors become a 500 page in the browser instead of killing the thread.
        "PROPAGATE_UNEXPECTED": False,
        # Delivery in this process after each response: a background thread would outlive
        # the test and touch the next test's database session.
        "BACKGROUND_MODE": "sync",
        "SECRET_KEY": "browser-test-secret-key",
        "DATABASE_URL": database_url,
        "SITE_URL": "http://127.0.0.1",
        "BACKENDS": {
            "DEFAULT": "mock",
            "null": {},
            "mock": {"ready_after_seconds": MOCK_READY_AFTER_SECONDS},
            "mock_worker": {"class": "mock_worker", "ready_after_seconds": 0,
                            "ping_interval": 2,
                            "javascript_url": "/test-support/failing-ping.js"},
            "mock_worker_nostart": {"class": "mock_worker", "ready_after_seconds": 0,
                                    "javascript_url": "/test-support/failing-start.js"},
            "mock_exam_code": {"class": "mock_exam_code", "ready_after_seconds": 3600},
        },
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_ENABLED": False,  # every browser signs in from 127.0.0.1
        # Short enough that pages move on by themselves within a test.
        "TIMER_POLL_SECONDS": 2,
    }


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("browser") / "proctor_browser.sqlite3"
    app = create_app(live_server_config("sqlite:///" + str(database)))

    @app.route("/test-support/<name>.js")
    def test_worker(name: str):
        if name not in TEST_WORKERS:
            return "", 404
        return TEST_WORKERS[name], 200, {"Content-Type": "text/javascript"}

    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["proctor", "demo"])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def playwright():
    """One Playwright driver for the run: the sync API allows only one at a time, so every
    browser (the default one, the one blocking third-party cookies) is launched from it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


#: Chromium's own switch for the third-party cookie phase-out: partitioned (CHIPS) cookies
#: are kept in a cross-site frame, plain SameSite=None ones are refused.
BLOCK_THIRD_PARTY_COOKIES = ["--test-third-party-cookie-phaseout"]


@pytest.fixture(scope="session")
def blocking_browser(playwright):
    """A Chromium that blocks third-party cookies, as an LMS's learners' browsers do."""
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, *BLOCK_THIRD_PARTY_COOKIES])
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def lms_page(blocking_browser):
    """A learner's page, at desktop size, in the browser that blocks third-party cookies:
    where the LTI tests open the LMS that frames us."""
    context = blocking_browser.new_context(viewport={"width": 1100, "height": 900},
                                           locale="en-US")
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def browser(playwright):
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()


#: How Chromium reports a Content-Security-Policy violation in the console.
CSP_VIOLATION = re.compile(r"Content Security Policy|Refused to (load|execute|apply|frame|"
                           r"connect|create|evaluate)", re.I)


def watch_csp_violations(page) -> list[str]:
    """Every CSP violation the page (or its frames and workers) reports, as it happens."""
    violations: list[str] = []

    def on_console(message) -> None:
        if CSP_VIOLATION.search(message.text):
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    return violations


@pytest.fixture
def page(browser):
    """A fresh page; the test fails if any page it opened reported a CSP violation."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp_violations(page)
    try:
        yield page
        assert violations == [], "Content-Security-Policy violations:\n" + "\n".join(violations)
    finally:
        context.close()


def _login(live_server: LiveServer) -> Callable[..., None]:
    def login(page, username: str, password: str | None = None) -> None:
        page.goto(live_server.path("/login"))
        page.fill("#username", username)
        page.fill("#password", password or DEMO_PASSWORDS[username])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, f"sign-in as {username} failed"

    return login


@pytest.fixture
def login(live_server: LiveServer) -> Callable[..., None]:
    return _login(live_server)


@pytest.fixture
def shot() -> Callable[..., Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        path = SCREENSHOTS / f"{safe}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


DEMO_COURSE_ID = "course-v1:DemoX+PROC101+2026"
_learner_numbers = iter(range(1, 1_000_000))


@pytest.fixture
def fresh_learner(live_server: LiveServer) -> Callable[..., tuple[str, str]]:
    """Each call makes a new enrolled learner, so tests never share attempts."""
    from proctor_web.models import utcnow
    from proctor_web.services import courses

    def make(course_id: str = DEMO_COURSE_ID, prefix: str = "learner") -> tuple[str, str]:
        username = f"{prefix}{next(_learner_numbers)}"
        password = f"{username}-password"
        with live_server.app.app_context():
            now = utcnow()
            user = courses.create_user(username, password, now, email=f"{username}@example.com",
                                       full_name=username.title())
            courses.enroll(user, course_id, now)
            db.session.commit()
        return username, password

    return make


def start_system_check(page: Any) -> None:
    """Press "Start the system check" on a page or frame once the page's script has wired it
    to open the provider's software (``data-opens-software``). Pressed earlier, under load,
    the click only records itself and no tab opens: a race of the test, not of a learner
    (who then gets the "open the system check again" link)."""
    from playwright.sync_api import expect

    form = page.locator("#system-check-form[data-opens-software]")
    expect(form).to_be_attached(timeout=15_000)
    form.locator("button").first.click()


def end_exam(page: Any) -> None:
    """Press "End my exam" on a page or frame once the exam's content frame has its final
    height. ``exam-layout.js`` fits the frame to its content when that loads, which moves the
    button below it: pressed in that moment, under load, the press can land where the button
    was and nothing is submitted (a race of the test, not of a learner, who sees it move)."""
    import re

    from playwright.sync_api import expect

    content = page.locator("iframe.exam-content")
    if content.count():
        expect(content.first).to_have_attribute("data-fitted", re.compile(r"^\d+$"),
                                                timeout=15_000)
    page.get_by_role("button", name="End my exam").click()
