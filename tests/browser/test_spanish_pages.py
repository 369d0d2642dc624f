"""In Spanish, in a real browser: the mock provider's steps and name, and the 404 page."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.test_learner_a11y import AXE_OPTIONS
from tests.browser.test_learner_flows import exam_url


def test_mock_steps_and_missing_page_in_spanish(live_server, browser, shot, fresh_learner):
    username, password = fresh_learner()
    context = browser.new_context(locale="es-ES", extra_http_headers={"Accept-Language": "es"})
    page = context.new_page()
    axe = Axe()
    try:
        page.goto(live_server.path("/login"))
        page.get_by_label("Nombre de usuario").fill(username)
        page.get_by_label("Contraseña").fill(password)
        page.get_by_role("button", name="Iniciar sesión").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Tus cursos")

        page.goto(exam_url(live_server, "proctored-exam"))
        page.get_by_role("button", name="Continuar con el examen supervisado").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Prepara tu sesión supervisada")
        expect(page.get_by_text("Selecciona «Iniciar la comprobación del sistema» para abrir "
                                "el software de supervisión simulado.")).to_be_visible()
        expect(page.get_by_text("Permite que use tu cámara y tu micrófono.")).to_be_visible()
        expect(page.get_by_text("supervisado por Servicio de supervisión simulado",
                                exact=False)).to_be_visible()
        assert "Mock Proctoring Service" not in page.content()
        results = axe.run(page, options=AXE_OPTIONS)
        shot(page, "spanish-mock-instructions")
        assert not results.violations_count, results.generate_report()

        response = page.goto(live_server.path("/esta/pagina/no/existe"))
        assert response is not None and response.status == 404
        assert page.locator("html").get_attribute("lang") == "es"
        expect(page.get_by_role("heading", level=1)).to_have_text("No encontramos esa página")
        expect(page.get_by_text("No hay nada en esta dirección", exact=False)).to_be_visible()
        results = axe.run(page, options=AXE_OPTIONS)
        shot(page, "spanish-404")
        assert not results.violations_count, results.generate_report()
    finally:
        context.close()
