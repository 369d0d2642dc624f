"""The Spanish locale is complete, compiled, and chosen by Accept-Language or ?lang=."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask_babel import refresh

from proctor_web.extensions import db
from proctor_web.models import utcnow
from tests.learner.conftest import make_sign_in


@pytest.fixture
def sign_in(app, client):
    return make_sign_in(app, client)

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "proctor_web" / "translations" / "es" / "LC_MESSAGES"
#: Every page a learner reads, the shared pages around them, the emails people get (written
#: in their last language), and the texts and names of the built-in providers.
LEARNER_FACING = (
    "proctor_web/templates/learner/", "proctor_web/templates/macros/learner.html",
    "proctor_web/templates/base.html", "proctor_web/templates/auth/",
    "proctor_web/templates/errors/", "proctor_web/templates/main/",
    "proctor_web/templates/emails/",
    "proctor_web/i18n.py", "proctor_web/templating.py",
    "proctor_web/errors.py", "proctor_web/blueprints/auth/", "proctor_web/blueprints/learner/",
    "proctor_web/security/", "proctor_web/services/notifications.py",
    "proctor_web/backends/mock.py", "proctor_web/backends/null.py",
    "proctor_web/backends/rest.py", "proctor_web/backends/lti.py",
    "proctor_web/backends/software_secure.py",
)
#: Emails and error pages: every message extracted from them must have its own Spanish.
EMAILS_AND_ERRORS = ("proctor_web/templates/emails/", "proctor_web/templates/errors/")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")


def _catalog():
    with open(CATALOG / "messages.po", "rb") as handle:
        return read_po(handle, locale="es")


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (
        message.string,)


def test_every_message_has_a_spanish_translation_with_the_same_placeholders():
    catalog = _catalog()
    assert not catalog.fuzzy
    untranslated = []
    for message in catalog:
        if not message.id:
            continue
        strings = _strings(message)
        if not all(strings) or message.fuzzy:
            untranslated.append(message.id)
            continue
        wanted = {m for text in _ids(message) for m in PLACEHOLDER.findall(text)}
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == wanted, (message.id, text)
    assert not untranslated, untranslated


def _extracted(prefixes: tuple[str, ...]) -> set[str | tuple[str, ...]]:
    """The msgids the project's extraction (babel.cfg) finds in files under ``prefixes``."""
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found: set[str | tuple[str, ...]] = set()
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        if filename.replace("\\", "/").startswith(prefixes):
            found.add(message)
    return found


def test_every_learner_facing_string_is_in_the_catalog():
    found = {m if isinstance(m, str) else m[0] for m in _extracted(LEARNER_FACING)}
    in_catalog = {_ids(m)[0] for m in _catalog() if m.id}
    assert len(found) > 150
    assert not found - in_catalog, sorted(found - in_catalog)


def test_every_email_and_error_page_message_has_its_own_spanish():
    found = _extracted(EMAILS_AND_ERRORS)
    assert len(found) >= 20  # both folders were read
    catalog = _catalog()
    missing = []
    for msgid in found:
        key = msgid if isinstance(msgid, str) else tuple(m for m in msgid if m)
        message = catalog.get(key if isinstance(key, str) else key[0])
        strings = () if message is None else _strings(message)
        if message is None or message.fuzzy or not strings or not all(
                s.strip() for s in strings):
            missing.append(msgid)
    assert not missing, sorted(map(str, missing))


def test_compiled_catalog_is_up_to_date():
    buffer = BytesIO()
    write_mo(buffer, _catalog())
    buffer.seek(0)
    fresh = {m.id if isinstance(m.id, str) else tuple(m.id): m.string for m in read_mo(buffer)}
    with open(CATALOG / "messages.mo", "rb") as handle:
        shipped = {m.id if isinstance(m.id, str) else tuple(m.id): m.string
                   for m in read_mo(handle)}
    assert shipped == fresh, ".mo is stale: run pybabel compile -d proctor_web/translations"


@pytest.fixture
def spanish_setup(factory):
    learner = factory.learner()
    exam = factory.exam("timed", content_id="t-es", time_limit_mins=90,
                        due_date=utcnow() + timedelta(days=30))
    db.session.commit()
    return learner, exam


@pytest.mark.parametrize("how", ["accept-language", "lang-parameter"])
def test_pages_in_spanish(spanish_setup, sign_in, client, how):
    learner, exam = spanish_setup
    sign_in(learner)
    url = "/courses/course-v1:TestX+T101+2026/exams/t-es"
    if how == "accept-language":
        page = client.get(url, headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
    else:
        page = client.get(url + "?lang=es", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert '<html lang="es">' in html
    assert "es un examen con tiempo límite" in html
    assert "Tendrás 1 hora y 30 minutos para terminar" in html
    assert re.search(r"La fecha límite del examen es el \d+ de [a-z]+ de 20\d\d", html)
    assert "Empezar mi examen con tiempo límite" in html
    if how == "lang-parameter":  # remembered for the next pages
        refresh()
        again = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Empezar mi examen con tiempo límite" in again


def test_api_phrases_follow_the_locale(spanish_setup, sign_in, client, app):
    learner, exam = spanish_setup
    sign_in(learner)
    response = client.post("/api/edx_proctoring/v1/proctored_exam/attempt",
                           json={"exam_id": exam.id, "start_clock": "true"})
    attempt_id = response.json["exam_attempt_id"]
    refresh()  # requests share the test's app context, where Flask-Babel caches the locale
    data = client.get(f"/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}",
                      headers={"Accept-Language": "es"}).json
    assert data["total_time"] == "1 hora y 30 minutos"
    assert data["accessibility_time_string"].startswith("te quedan ")
    refresh()
    english = client.get(f"/api/edx_proctoring/v1/proctored_exam/attempt/{attempt_id}",
                         headers={"Accept-Language": "en"}).json
    assert english["total_time"] == "1 hour and 30 minutes"
