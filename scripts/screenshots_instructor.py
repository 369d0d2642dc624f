"""Screenshots of the instructor dashboard, desktop and 360 px phone, English and Spanish.

    python scripts/screenshots_instructor.py OUT_DIR

Builds a throw-away SQLite database with the demo data (``flask proctor demo``) plus a few
attempts in the states the overview calls out, serves the app on 127.0.0.1 (a free port)
in a thread, signs in as the demo instructor in Debian's Chromium (``/usr/bin/chromium``,
through Playwright) and saves one full-page PNG per page, width and language into OUT_DIR
(``<page>-<desktop|phone>-<en|es>.png``; the English browser is in Bogota, the Spanish one in
Madrid, so the dashboard's times show in those zones with UTC beside them), then, signed
out, the account pages a learner reaches from an invitation email or "Forgot your
password?" (``ACCOUNT_PAGES``). Everything it made is removed when it ends.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proctor_web.extensions import db  # noqa: E402
from scripts.screenshots import demo_server  # noqa: E402

COURSE = "course-v1:DemoX+PROC101+2026"
DASH = f"/courses/{COURSE}/instructor"
WIDTHS = {"desktop": (1280, 900), "phone": (360, 780)}
#: The browser's time zone per language: the dashboard shows times in it, UTC beside.
ZONES = {"en": "America/Bogota", "es": "Europe/Madrid"}
#: (file name, path under the dashboard, what to do on the page before the shot or None)
PAGES = [
    ("overview", "/", None),
    ("attempts", "/attempts", None),
    ("allowances-minutes", "/allowances", None),
    ("allowances-multiplier", "/allowances?kind=time_multiplier", None),
    ("allowances-policy", "/allowances?kind=review_policy_exception", None),
    ("allowances-refused", "/allowances?kind=time_multiplier", "refuse_allowance"),
    ("roster", "/roster", None),
    ("roster-import-preview", "/roster", "preview_import"),
    ("roster-deactivate", "/roster", "confirm_deactivate"),
    ("onboarding", "/onboarding", None),
    ("exams", "/exams", None),
    ("attempt-detail", "/attempts", "open_detail"),
    ("attempt-review", "/attempts", "open_review"),
]
#: Signed-out pages: (file name, path, what to do first); ``{invitation}`` is a fresh link.
ACCOUNT_PAGES = [
    ("forgot-password", "/password/forgot", None),
    ("forgot-password-sent", "/password/forgot", "ask_for_link"),
    ("set-password", "{invitation}", None),
    ("set-password-refused", "{invitation}", "refuse_password"),
    ("link-expired", "{expired}", None),
]
#: A demo learner with no password yet, invited by the instructor.
INVITEE = "invited.learner"
CSV_WITH_PROBLEMS = ("username,email,full name\nnew.learner,new@example.com,New Learner\n"
                     "bad name,bad@example.com,Bad Name\nalice,other@example.com,Alice\n")


#: On top of the learner screenshots' demo app (``screenshots.app_config``).
OVERRIDES = {
    "WTF_CSRF_ENABLED": True, "SESSION_COOKIE_SECURE": False,
    "BACKENDS": {"DEFAULT": "mock", "mock": {"ready_after_seconds": 1}, "null": {}},
}


def prepare() -> None:
    add_attempts()
    add_invitee()


def add_invitee() -> None:
    """A learner without a password, so the roster offers to invite them again."""
    from proctor_web.models import utcnow
    from proctor_web.services import courses

    user = courses.create_user(INVITEE, None, utcnow(), email="invited@example.com",
                               full_name="Ines Invited")
    courses.enroll(user, COURSE, utcnow())
    db.session.commit()


def account_links(app) -> dict[str, str]:
    """A working invitation link and an expired one (made eight days ago) for the invitee."""
    from datetime import timedelta

    from proctor_web.models import utcnow
    from proctor_web.services import courses, password_links

    kind = password_links.LinkKind.INVITATION
    with app.test_request_context():
        user = courses.find_user(INVITEE)
        return {"invitation": "/password/set/" + password_links.make_token(user, kind, utcnow()),
                "expired": "/password/set/" + password_links.make_token(
                    user, kind, utcnow() - timedelta(days=8))}


def add_attempts() -> None:
    """A few attempts in the states the overview lists, for the demo's learners."""
    from proctor_web.models import utcnow
    from proctor_web.services import attempts, courses, exams
    from proctor_web.services.attempts import Action, Actor

    now = utcnow()
    proctored = [e for e in exams.course_exams(COURSE, active_only=True)
                 if e.is_proctored and not e.is_practice_exam]
    if not proctored:
        return
    exam = proctored[0]
    for username, status in (("alice", "second_review_required"), ("bob", "error")):
        user = courses.get_user(username)
        learner = Actor.learner(user)
        attempt = attempts.create_attempt(exam, user, learner, now, start_clock=False)
        attempts.apply_action(attempt, Action.READY, Actor.system("screenshots"), now)
        attempts.apply_action(attempt, Action.START, learner, now)
        if status == "error":
            attempts.apply_action(attempt, Action.ERROR, Actor.system("screenshots"), now,
                                  "the proctoring software crashed")
        else:
            attempts.apply_action(attempt, Action.SUBMIT, learner, now)
            attempts.apply_action(attempt, Action.REQUIRE_SECOND_REVIEW,
                                  Actor.provider("mock"), now, "reviewer unsure")
    # One allowance, so the allowance list and its history have a row to show.
    from proctor_web.services import allowances
    allowances.set_allowance(exam, courses.get_user("alice"), "additional_time_granted", "20",
                             courses.get_user("instructor"), now)
    db.session.commit()


def refuse_allowance(page) -> None:
    page.fill("#users", "alice")
    page.locator("input[name=exam_ids]").first.check()
    page.fill("#value", "0.5")
    page.locator("form.allowance-form button[type=submit]").click()
    page.wait_for_load_state()


def preview_import(page, directory: Path) -> None:
    csv_file = directory / "class.csv"
    csv_file.write_text(CSV_WITH_PROBLEMS, encoding="utf-8")
    page.set_input_files("#csv_file", str(csv_file))
    page.locator("#csv_file").locator("xpath=ancestor::form").locator(
        "button[type=submit]").click()
    page.wait_for_load_state()


def confirm_deactivate(page) -> None:
    page.locator("a.danger-outline").first.click()
    page.wait_for_load_state()


def ask_for_link(page) -> None:
    page.fill("#identifier", "nobody@example.com")
    page.locator("button[type=submit]").last.click()
    page.wait_for_load_state()


def refuse_password(page) -> None:
    page.fill("#password", "short")
    page.fill("#confirmation", "short")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


def open_attempt(page, review: bool) -> None:
    """From the attempts list, alice's attempt (waiting for a second review) or its review."""
    page.locator("table.attempts a", has_text="alice").first.click()
    page.wait_for_load_state()
    if review:
        page.locator("a[href$='/review']").first.click()
        page.wait_for_load_state()


def settle_zone(page, base: str, zone: str) -> None:
    """Wait until the session holds the browser's zone: a dashboard page that was served in
    another one loads once more by itself after reporting it (``static/js/timezone.js``)."""
    page.goto(f"{base}{DASH}/")
    page.wait_for_function("(zone) => document.getElementById('timezone-script')"
                           "?.dataset.timezone === zone", arg=zone)
    page.wait_for_load_state("load")


def take_account_pages(browser, base: str, out: Path, links: dict[str, str]) -> list[Path]:
    saved: list[Path] = []
    actions = {"ask_for_link": ask_for_link, "refuse_password": refuse_password}
    for lang in ("en", "es"):
        for width_name, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height},
                                          locale="es-ES" if lang == "es" else "en-US")
            page = context.new_page()
            page.goto(f"{base}/login?lang={lang}")
            for name, path, action in ACCOUNT_PAGES:
                page.goto(base + path.format(**links))
                if action is not None:
                    actions[action](page)
                target = out / f"{name}-{width_name}-{lang}.png"
                page.screenshot(path=str(target), full_page=True)
                saved.append(target)
            context.close()
    return saved


def take(base: str, out: Path, scratch: Path, links: dict[str, str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved: list[Path] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
        try:
            for lang in ("en", "es"):
                for width_name, (width, height) in WIDTHS.items():
                    context = browser.new_context(viewport={"width": width, "height": height},
                                                  locale="es-ES" if lang == "es" else "en-US",
                                                  timezone_id=ZONES[lang])
                    page = context.new_page()
                    page.goto(f"{base}/login?lang={lang}")
                    page.fill("#username", "instructor")
                    page.fill("#password", "instructor-demo-pass")
                    page.click("button[type=submit]")
                    page.wait_for_load_state()
                    settle_zone(page, base, ZONES[lang])
                    for name, path, action in PAGES:
                        page.goto(f"{base}{DASH}{path}")
                        if action == "refuse_allowance":
                            refuse_allowance(page)
                        elif action == "preview_import":
                            preview_import(page, scratch)
                        elif action == "confirm_deactivate":
                            confirm_deactivate(page)
                        elif action in ("open_detail", "open_review"):
                            open_attempt(page, review=action == "open_review")
                        target = out / f"{name}-{width_name}-{lang}.png"
                        page.screenshot(path=str(target), full_page=True)
                        saved.append(target)
                    context.close()
            saved += take_account_pages(browser, base, out, links)
        finally:
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files (created)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="proctor-shots-") as scratch, \
            demo_server(Path(scratch), OVERRIDES, prepare) as (base, app):
        saved = take(base, args.out, Path(scratch), account_links(app))
    print(f"{len(saved)} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
