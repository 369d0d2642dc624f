"""The overview, allowances and roster pages in Chromium at desktop width and on a 360 px
phone: axe finds no WCAG 2.2 AA violation, no table column is cut off (the page never scrolls
sideways), and the roster import shows its preview before saving."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_COURSE_ID
from tests.browser.test_instructor_dashboard import AXE_OPTIONS, attempt_in

DASH = f"/courses/{DEMO_COURSE_ID}/instructor"
WIDTHS = {"desktop": 1100, "phone": 360}


def check(page, shot, name: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    wide = page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""")
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px: {wide}"
    shot(page, name)
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("width", WIDTHS)
def test_overview_allowances_and_roster(live_server, page, login, shot, width, fresh_learner,
                                        tmp_path):
    stuck, _ = fresh_learner()
    attempt_in(live_server, stuck, "proctored-exam", "error")
    page.set_viewport_size({"width": WIDTHS[width], "height": 800})
    login(page, "instructor")
    page.goto(live_server.path(f"{DASH}/"))
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    expect(page.get_by_role("link", name=f"Let {stuck} resume")).to_be_visible()
    check(page, shot, f"ux-overview-{width}")

    page.goto(live_server.path(f"{DASH}/allowances?kind=time_multiplier"))
    page.get_by_label("Learners").fill("alice")
    page.locator("input[name=exam_ids]").first.check()
    page.get_by_label("Time multiplier", exact=True).fill("0.5")
    page.get_by_role("button", name="Multiply the time").click()
    field = page.get_by_label("Time multiplier", exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        "A number above 1 and at most 10: 1.5 gives half as much time again, so a 60-minute "
        "exam lasts 90 minutes. It is saved as extra minutes for each exam. A time multiplier "
        "must be greater than 1 and at most 10.")
    check(page, shot, f"ux-allowance-refused-{width}")

    page.goto(live_server.path(f"{DASH}/roster"))
    check(page, shot, f"ux-roster-{width}")
    csv_file = tmp_path / "class.csv"
    csv_file.write_text(f"username,email,full name\nphone{width},{width}@example.com,P {width}\n"
                        "bad name,x@example.com,Bad\n", encoding="utf-8")
    page.get_by_label("CSV file", exact=True).set_input_files(str(csv_file))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved: 1 line has a problem")
    check(page, shot, f"ux-roster-preview-bad-{width}")
    csv_file.write_text(f"phone{width},{width}@example.com,P {width}\n", encoding="utf-8")
    page.get_by_label("CSV file", exact=True).set_input_files(str(csv_file))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("button", name="Import 1 learner")).to_be_visible()
    page.wait_for_load_state("load")
    check(page, shot, f"ux-roster-preview-{width}")
    page.get_by_role("button", name="Import 1 learner").click()
    expect(page.locator(".notice-success")).to_have_text("1 learner(s) imported and enrolled.")
    page.get_by_role("button", name=f"Deactivate phone{width}").click()
    expect(page.locator(".notice-success")).to_contain_text(
        f"phone{width} is no longer enrolled and was signed out everywhere.")
    expect(page.get_by_role("button", name=f"Enroll phone{width} again")).to_be_visible()
    check(page, shot, f"ux-roster-after-{width}")


def test_spanish_roster_on_a_phone(live_server, page, login, shot):
    page.set_viewport_size({"width": 360, "height": 800})
    login(page, "instructor")
    page.goto(live_server.path(f"{DASH}/roster?lang=es"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lista del curso y cuentas")
    expect(page).to_have_title("Lista del curso · Demo Course: Proctoring 101 · "
                               "Supervisión de exámenes")
    check(page, shot, "ux-roster-phone-es")
    page.goto(live_server.path(f"{DASH}/?lang=en"))
