"""The overview, allowances and roster pages in Chromium at desktop width and on a 360 px
phone: axe finds no WCAG 2.2 AA violation, no table column is cut off (the page never scrolls
sideways), and the roster import shows its preview before saving."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_COURSE_ID
from tests.browser.test_instructor_dashboard import AXE_OPTIONS, attempt_in

DASH = f"/courses/{DEMO_COURSE_ID}/instructor"
WIDTHS = {"desktop": 1100, "phone": 360}


def check(page, shot, name: str) -> None:
    # After a form post the heading can be there before the stylesheet has applied.
    page.wait_for_load_state("load")
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
    expect(page.locator(".notice-success")).to_have_text(
        "1 learner(s) imported and enrolled. 1 invitation(s) to choose a password were sent.")
    page.get_by_role("link", name=f"Deactivate phone{width}").click()
    check(page, shot, f"ux-roster-deactivate-{width}")
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


def filter_boxes(page, form: str) -> list[dict]:
    """For each field of the filter form: where its label and its input (or legend) are."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel + ' .field')]
        .filter(f => !f.classList.contains('buttons')).map(f => {
          const label = f.querySelector('label, legend').getBoundingClientRect();
          const input = f.querySelector('input, select').getBoundingClientRect();
          return {labelBottom: label.bottom, inputTop: input.top, inputBottom: input.bottom,
                  left: f.getBoundingClientRect().left, isSet: f.tagName === 'FIELDSET'};
        })""", form)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_attempts_onboarding_and_exams_on_a_phone(live_server, page, login, shot, lang,
                                                  fresh_learner):
    """At 360 px the attempts, onboarding and exam lists never scroll sideways (each row is a
    block of labelled cells), the filters are one field under the other with each label above
    its input, and the bulk review checkboxes still choose attempts."""
    learner, _ = fresh_learner(prefix="phone")
    attempt_in(live_server, learner, "proctored-exam", "second_review_required")
    page.set_viewport_size({"width": 360, "height": 800})
    login(page, "instructor")

    page.goto(live_server.path(f"{DASH}/attempts?lang={lang}"))
    # The list itself, not the table of reset attempts below it (other tests reset some).
    listing = "table.attempts:not(.removed-attempts)"
    row = page.locator(f"{listing} tbody tr", has=page.get_by_role("link", name=learner))
    expect(row.locator("td[data-label]").first).to_be_visible()
    # Every cell is shown under its (translated) column label, not cut off on the right.
    headers = page.locator(f"{listing} thead th").all_inner_texts()
    labels = row.locator("[data-label]").evaluate_all(
        "cells => cells.map(c => c.dataset.label)")
    assert labels == [h.strip() for h in headers]
    status = row.locator("td[data-label] .badge").first
    assert status.bounding_box()["x"] + status.bounding_box()["width"] <= 360
    boxes = filter_boxes(page, "form.filters")
    assert len(boxes) == 5
    assert len({round(b["left"]) for b in boxes}) == 1, "filters are not one under the other"
    assert all(b["labelBottom"] <= b["inputTop"] + 1 for b in boxes), "a label is not above"
    check(page, shot, f"ux-attempts-phone-{lang}")

    page.goto(live_server.path(f"{DASH}/onboarding?lang={lang}"))
    expect(page.locator("table.stack tbody tr").first).to_be_visible()
    check(page, shot, f"ux-onboarding-phone-{lang}")

    page.goto(live_server.path(f"{DASH}/exams?lang={lang}"))
    expect(page.locator("table.stack tbody tr").first).to_be_visible()
    check(page, shot, f"ux-exams-phone-{lang}")
    page.goto(live_server.path(f"{DASH}/?lang=en"))


def test_bulk_verify_from_the_stacked_list_on_a_phone(live_server, page, login, fresh_learner):
    learner, _ = fresh_learner(prefix="phone")
    attempt_in(live_server, learner, "proctored-exam", "second_review_required")
    page.set_viewport_size({"width": 360, "height": 800})
    login(page, "instructor")
    page.goto(live_server.path(f"{DASH}/attempts?q={learner}"))
    box = page.get_by_label(f"Choose {learner} on “Proctored Final Exam”")
    size = box.bounding_box()
    assert size["width"] >= 24 and size["height"] >= 24, f"checkbox too small to tap: {size}"
    box.check()
    page.get_by_label("Reason (required, kept in each attempt's history)").fill("checked video")
    page.get_by_role("button", name="Verify the chosen attempts").click()
    # The list itself, not the table of reset attempts below it (other tests reset some).
    listing = "table.attempts:not(.removed-attempts)"
    row = page.locator(f"{listing} tbody tr", has=page.get_by_role("link", name=learner))
    expect(row.locator(".badge")).to_have_text("Verified")


def test_filters_line_up_on_a_wide_screen(live_server, page, login):
    """On a desktop the attempts filters are one row: labels above inputs, the inputs on one
    line; the onboarding filter's search box and status choices start on the same line."""
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "instructor")
    page.goto(live_server.path(f"{DASH}/attempts"))
    boxes = filter_boxes(page, "form.filters")
    assert len({round(b["inputBottom"]) for b in boxes}) == 1, boxes
    assert len({round(b["inputTop"]) for b in boxes}) == 1, boxes
    assert all(b["labelBottom"] <= b["inputTop"] + 1 for b in boxes)
    apply = page.get_by_role("button", name="Apply").bounding_box()
    assert round(apply["y"] + apply["height"]) == round(boxes[0]["inputBottom"])
    page.goto(live_server.path(f"{DASH}/onboarding"))
    search = page.get_by_label("Username or email").bounding_box()
    statuses = page.locator("form.filters fieldset").bounding_box()
    assert abs((search["y"] + search["height"]) - (statuses["y"] + statuses["height"])) <= 2


@pytest.mark.parametrize("lang", ["en", "es"])
def test_attempt_detail_review_and_allowance_list_on_a_phone(live_server, page, login, shot,
                                                             lang, fresh_learner):
    """The attempt's facts, its review page and a learner's allowances fit 360 px."""
    from proctor_web.extensions import db
    from proctor_web.models import utcnow
    from proctor_web.services import allowances, courses, exams

    learner, _ = fresh_learner(prefix="phone")
    attempt_id = attempt_in(live_server, learner, "proctored-exam", "second_review_required")
    with live_server.app.app_context():
        exam = exams.get_exam_by_content_id(DEMO_COURSE_ID, "proctored-exam")
        allowances.set_allowance(exam, courses.get_user(learner), "additional_time_granted",
                                 "25", None, utcnow())
        db.session.commit()
    page.set_viewport_size({"width": 360, "height": 800})
    login(page, "instructor")
    page.goto(live_server.path(f"{DASH}/attempts/{attempt_id}?lang={lang}"))
    expect(page.locator(".facts .badge").first).to_be_visible()
    check(page, shot, f"ux-attempt-detail-phone-{lang}")
    page.goto(live_server.path(f"{DASH}/attempts/{attempt_id}/review?lang={lang}"))
    check(page, shot, f"ux-review-phone-{lang}")
    page.goto(live_server.path(f"{DASH}/allowances?lang={lang}"))
    table = page.get_by_role("region", name=re.compile(learner)).locator("table.stack")
    expect(table.locator("td[data-label]").first).to_be_visible()
    check(page, shot, f"ux-allowance-list-phone-{lang}")
    page.goto(live_server.path(f"{DASH}/?lang=en"))
