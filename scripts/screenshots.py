"""Screenshots of the learner's pages, to look at them and to compare before and after.

    PYTHONPATH=. .venv/bin/python scripts/screenshots.py OUTDIR [--lang en es] [--size phone]

Starts the app on 127.0.0.1 (a free port) against a throw-away SQLite database with the demo
data (``flask proctor demo``), then walks a new learner through each flow in headless
Chromium (``/usr/bin/chromium``) at desktop (1280 x 900) and phone (360 x 740) sizes, in
English and Spanish, and writes ``OUTDIR/<size>-<lang>-<NN>-<page>.png``. The demo's mock
provider reports the system check passed after two seconds. Nothing outside OUTDIR and a
temporary directory is written; the server stops with the script.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
COURSE = "course-v1:DemoX+PROC101+2026"
ENCODED_COURSE = "course-v1%3ADemoX%2BPROC101%2B2026"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}
LOCALES = {"en": "en-US", "es": "es-ES"}


def app_config(database: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "PROPAGATE_UNEXPECTED": False,
        "BACKGROUND_MODE": "sync",
        "SECRET_KEY": "screenshots-only-secret-key",
        "DATABASE_URL": f"sqlite:///{database}",
        "SITE_URL": "http://127.0.0.1",
        "BACKENDS": {"DEFAULT": "mock", "null": {},
                     "mock": {"worker": True, "ready_after_seconds": 2}},
        "RATELIMIT_ENABLED": False,
        "TIMER_POLL_SECONDS": 2,
    }


@contextmanager
def demo_server(workdir: Path, overrides: dict[str, Any] | None = None,
                prepare: Callable[[], None] | None = None) -> Iterator[tuple[str, Any]]:
    """The app on a throw-away SQLite file with the demo data (``overrides`` on top of
    ``app_config``; ``prepare`` runs in its app context to add more), served on a free
    127.0.0.1 port in a thread; yields its base URL and the app, and stops it."""
    from proctor_web import create_app
    from proctor_web.extensions import db

    app = create_app({**app_config(workdir / "screenshots.sqlite3"), **(overrides or {})})
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["proctor", "demo"])
    if result.exit_code != 0:
        raise SystemExit(f"demo data failed: {result.output}")
    if prepare is not None:
        with app.app_context():
            prepare()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def new_learner(app: Any, name: str) -> tuple[str, str]:
    from proctor_web.extensions import db
    from proctor_web.models import utcnow
    from proctor_web.services import courses

    password = f"{name}-screenshots"
    with app.app_context():
        now = utcnow()
        user = courses.create_user(name, password, now, email=f"{name}@example.com",
                                   full_name=name.title())
        courses.enroll(user, COURSE, now)
        db.session.commit()
    return name, password


class Camera:
    def __init__(self, page: Any, out: Path, prefix: str) -> None:
        self.page, self.out, self.prefix, self.number = page, out, prefix, 0

    def __call__(self, name: str, full_page: bool = True) -> None:
        self.number += 1
        path = self.out / f"{self.prefix}-{self.number:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        print(path)


def situation(page: Any) -> str | None:
    article = page.locator("article.exam-page")
    return article.get_attribute("data-situation") if article.count() else None


def wait_for_situation(page: Any, name: str, timeout: int = 20_000) -> None:
    page.wait_for_selector(f'article.exam-page[data-situation="{name}"]', timeout=timeout)


def submit_action(page: Any, action: str) -> None:
    with page.expect_navigation():
        page.click(f'form[data-action="{action}"] button[type=submit]')


def walk(base: str, app: Any, browser: Any, out: Path, size: str, lang: str) -> None:
    username, password = new_learner(app, f"shots_{size}_{lang}")
    context = browser.new_context(viewport=SIZES[size], locale=LOCALES[lang])
    context.set_default_timeout(20_000)
    page = context.new_page()
    snap = Camera(page, out, f"{size}-{lang}")
    exam = f"{base}/courses/{ENCODED_COURSE}/exams/"
    try:
        page.goto(f"{base}/login?lang={lang}")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        snap("home")

        # The proctored flow, from the entrance to the submitted page.
        page.goto(exam + "proctored-exam")
        snap("proctored-entrance")
        submit_action(page, "enter")
        snap("system-check")
        with context.expect_page() as popup:
            submit_action(page, "click_download_software")
        popup.value.close()
        if situation(page) == "instructions":
            snap("system-check-waiting")
        wait_for_situation(page, "ready_to_start")
        snap("rules")
        page.click('#start-form button[type=submit]')
        wait_for_situation(page, "started")
        page.wait_for_selector("iframe.exam-content[data-fitted]")  # sized to its questions
        page.wait_for_timeout(500)
        snap("exam-running", full_page=False)
        snap("exam-running-full")  # the one scroll: the page, with the questions at full height
        page.click("#timer-toggle")
        snap("exam-running-timer-hidden", full_page=False)
        submit_action(page, "stop")
        snap("confirm-submit")
        page.click('#submit-form button[type=submit]')
        wait_for_situation(page, "submitted")
        snap("proctored-submitted")

        # The timed exam: entrance and the running page.
        page.goto(exam + "timed-exam")
        snap("timed-entrance")
        submit_action(page, "enter")
        page.wait_for_timeout(500)
        snap("timed-running", full_page=False)

        page.goto(exam + "practice-exam")
        snap("practice-entrance")
        page.goto(exam + "onboarding-exam")
        snap("onboarding-entrance")
        # The onboarding exam's set-up reads as an identity check, not as exam rules.
        submit_action(page, "enter")
        with context.expect_page() as popup:
            submit_action(page, "click_download_software")
        popup.value.close()
        wait_for_situation(page, "ready_to_start")
        snap("onboarding-ready-to-start")
        page.goto(f"{base}/")
        snap("home-after")
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--lang", nargs="+", default=list(LOCALES), choices=list(LOCALES))
    parser.add_argument("--size", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="proctor-shots-") as tmp, \
            demo_server(Path(tmp)) as (base, app), sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
        try:
            for size in args.size:
                for lang in args.lang:
                    walk(base, app, browser, args.outdir, size, lang)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
