"""A staff member whose browser is in Bogota reads the attempts list and an attempt's page in
Colombia time with UTC beside it, in English and Spanish, at desktop width and on a 360 px
phone: the times agree with the browser's own clock, the page never scrolls sideways, and axe
finds no WCAG 2.2 AA violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from proctor_web.extensions import db
from proctor_web.models import utcnow
from proctor_web.services import courses
from tests.browser.conftest import DEMO_COURSE_ID, watch_csp_violations
from tests.browser.test_instructor_dashboard import attempt_in
from tests.browser.test_instructor_pages_phone import WIDTHS, check

DASH = f"/courses/{DEMO_COURSE_ID}/instructor"
ZONE = "America/Bogota"
WORDS = {
    "en": {"note": "Times are in Colombia Time, with UTC in brackets.", "zone": "Colombia Time",
           "started": "Started"},
    "es": {"note": "Las horas están en hora de Colombia, con UTC entre paréntesis.",
           "zone": "hora de Colombia", "started": "Iniciado"},
}


def _fresh_staff(live_server, name: str) -> tuple[str, str]:
    password = f"{name}-password"
    with live_server.app.app_context():
        user = courses.create_user(name, password, utcnow(), email=f"{name}@example.com")
        courses.enroll(user, DEMO_COURSE_ID, utcnow(), role="staff")
        db.session.commit()
    return name, password


def _local_and_utc(page, stamp: str, lang: str) -> tuple[str, str]:
    """The browser's own reading of ``stamp``: its local time and UTC time, "HH:mm"."""
    return tuple(page.evaluate("""([stamp, zone, lang]) => [zone, 'UTC'].map(z =>
        new Date(stamp).toLocaleTimeString(lang, {hour: '2-digit', minute: '2-digit',
                                                  hourCycle: 'h23', timeZone: z}))""",
                               [stamp, ZONE, lang]))


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("width", WIDTHS)
def test_attempts_list_and_detail_in_the_browsers_zone(live_server, browser, login, shot,
                                                       fresh_learner, width, lang):
    learner, _ = fresh_learner()
    attempt_id = attempt_in(live_server, learner, "proctored-exam", "submitted")
    staff, password = _fresh_staff(live_server, f"tzstaff-{width}-{lang}")
    words = WORDS[lang]
    context = browser.new_context(viewport={"width": WIDTHS[width], "height": 800},
                                  locale="es-ES" if lang == "es" else "en-US", timezone_id=ZONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp_violations(page)
    try:
        with page.expect_response(lambda r: r.url.endswith("/timezone")):
            login(page, staff, password)
        # The home page shows times, so it loads once more in the zone the browser reported.
        expect(page.locator("#timezone-script")).to_have_attribute("data-timezone", ZONE)
        page.wait_for_load_state("load")
        page.goto(live_server.path(f"{DASH}/attempts?lang={lang}&q={learner}"))
        expect(page.locator("#dash-zone")).to_have_text(words["note"])
        row = page.locator("tr", has=page.get_by_role("link", name=learner, exact=True))
        started = row.locator(f"td[data-label='{words['started']}'] time")
        stamp = started.get_attribute("datetime")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp
        local, utc = _local_and_utc(page, stamp, lang)
        expect(started).to_have_text(re.compile(
            rf"^\S+ \S+, {local} \((\S+ \S+, )?{utc} UTC\)$"))
        if width == "desktop":  # the table fits: times wrap between local and UTC parts
            assert page.evaluate("""(() => { const w = document.querySelector('.table-wrap');
                return w.scrollWidth <= w.clientWidth; })()""")
        check(page, shot, f"times-attempts-{width}-{lang}")

        row.get_by_role("link", name=learner, exact=True).click()
        expect(page).to_have_url(re.compile(rf"/attempts/{attempt_id}$"))
        detail = page.locator("dl.facts dd time").first
        expect(detail).to_contain_text(words["zone"])
        expect(detail).to_contain_text(f"({utc} UTC)")
        timeline = page.locator("ol.timeline time").first
        expect(timeline).to_contain_text(f"{local} (")
        check(page, shot, f"times-attempt-detail-{width}-{lang}")
        assert violations == []
    finally:
        context.close()
