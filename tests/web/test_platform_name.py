"""The platform's name (``PLATFORM_NAME``) in titles, the header and emails, translated when it
is the default; and the favicon every page links."""

from __future__ import annotations

from flask_babel import refresh

from proctor_web.i18n import DEFAULT_PLATFORM_NAME

# The tests share one app context, where Flask-Babel keeps the locale it chose: ``refresh``
# before each request in another language.


def test_default_name_is_human_and_translated(app, client):
    assert app.config["PLATFORM_NAME"] == DEFAULT_PLATFORM_NAME == "Exam proctoring"
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert "· Exam proctoring</title>" in english
    assert "proctor_web" not in english
    refresh()
    spanish = client.get("/login?lang=es").get_data(as_text=True)
    assert "· Supervisión de exámenes</title>" in spanish
    assert 'class="brand"' in spanish and "Supervisión de exámenes</a>" in spanish


def test_a_configured_name_is_shown_as_written(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PLATFORM_NAME", "Universidad Proctoring")
    refresh()
    page = client.get("/login?lang=es").get_data(as_text=True)
    assert "· Universidad Proctoring</title>" in page


def test_every_page_links_the_favicon_and_the_old_address_redirects(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.get_data()
    icon.close()
    legacy = client.get("/favicon.ico")
    assert legacy.status_code == 301 and legacy.location.endswith("/static/favicon.svg")
