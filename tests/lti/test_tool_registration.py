"""Registering platforms: the CLI command, the global-staff pages, the demo's platform."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from proctor_web.cli import DEMO_LTI_PLATFORM
from proctor_web.extensions import db
from proctor_web.lti.tool import registration
from proctor_web.models import LtiPlatform
from tests.conftest import make_sign_in

PLATFORM_ARGS = (
    "--issuer", "https://lms.example.edu", "--client-id", "abc123",
    "--deployment-id", "dep-1", "--deployment-id", "dep-2",
    "--auth-login-url", "https://lms.example.edu/api/lti/authorize_redirect",
    "--auth-token-url", "https://lms.example.edu/login/oauth2/token",
    "--key-set-url", "https://lms.example.edu/api/lti/security/jwks",
)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["proctor", *args], catch_exceptions=False)


def test_the_cli_registers_a_platform_and_prints_what_to_paste_in_the_lms(cli) -> None:
    result = cli("lti-add-platform", *PLATFORM_ARGS, "--name", "University LMS")
    assert result.exit_code == 0, result.output
    platform = registration.find_platform("https://lms.example.edu", "abc123")
    assert platform.name == "University LMS"
    assert [d.deployment_id for d in platform.deployments] == ["dep-1", "dep-2"]
    for url in ("http://proctor.test/lti/login", "http://proctor.test/lti/launch",
                "http://proctor.test/lti/jwks.json", "content_id="):
        assert url in result.output

    again = cli("lti-add-platform", *PLATFORM_ARGS)
    assert again.exit_code == 1 and "already registered" in again.output


def test_the_cli_refuses_a_bad_url_naming_the_option(cli) -> None:
    args = list(PLATFORM_ARGS)
    args[args.index("--key-set-url") + 1] = "ftp://nope"
    result = cli("lti-add-platform", *args)
    assert result.exit_code == 1 and "key_set_url" in result.output
    assert db.session.scalar(select(LtiPlatform.id)) is None


def test_the_demo_registers_the_test_platform_once(cli, app) -> None:
    assert cli("demo").exit_code == 0
    assert cli("demo").exit_code == 0
    platform = registration.find_platform(DEMO_LTI_PLATFORM, "proctor-web-demo")
    assert [d.deployment_id for d in platform.deployments] == ["demo-deployment"]


FORM = {
    "name": "Moodle", "issuer": "https://moodle.example.org", "client_id": "xyz",
    "deployment_ids": "1\n2", "auth_login_url": "https://moodle.example.org/mod/lti/auth.php",
    "auth_token_url": "https://moodle.example.org/mod/lti/token.php",
    "key_set_url": "https://moodle.example.org/mod/lti/certs.php", "is_active": "true",
}


def test_only_global_staff_manage_platforms(app, client, factory) -> None:
    sign_in = make_sign_in(app, client)
    teacher = factory.user("teacher")
    db.session.commit()  # the refusals below roll back the request's work
    sign_in(teacher)
    assert client.get("/lti/platforms").status_code == 403
    assert client.post("/lti/platforms/new", data=FORM).status_code == 403
    sign_in(None)
    assert client.get("/lti/platforms").status_code == 302


def test_global_staff_add_and_edit_a_platform_with_errors_next_to_fields(
    app, client, factory, monkeypatch
) -> None:
    sign_in = make_sign_in(app, client)
    root = factory.user("root", is_staff=True)
    db.session.commit()  # the refused form below rolls back the request's work
    sign_in(root)
    page = client.get("/lti/platforms/new").get_data(as_text=True)
    assert "http://proctor.test/lti/login" in page

    bad = client.post("/lti/platforms/new", data={**FORM, "auth_token_url": "not a url"})
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    assert re.search(r'id="auth_token_url-error"[^>]*>[^<]*auth_token_url', body)
    assert 'aria-invalid="true"' in body and 'value="https://moodle.example.org"' in body

    created = client.post("/lti/platforms/new", data=FORM)
    assert created.status_code == 303
    platform = registration.find_platform("https://moodle.example.org", "xyz")
    assert [d.deployment_id for d in platform.deployments] == ["1", "2"]
    assert "Moodle" in client.get("/lti/platforms").get_data(as_text=True)

    edited = client.post(f"/lti/platforms/{platform.id}",
                         data={**FORM, "deployment_ids": "2\n3", "is_active": ""})
    assert edited.status_code == 303
    db.session.refresh(platform)
    assert [d.deployment_id for d in platform.deployments] == ["2", "3"]
    assert platform.is_active is False

    # The LTI blueprint takes cross-site posts from platforms; this form still needs CSRF.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    refused = client.post(f"/lti/platforms/{platform.id}", data=FORM)
    assert refused.status_code == 400
    db.session.refresh(platform)
    assert platform.is_active is False


def test_global_staff_find_the_platforms_page_from_the_home_page(app, client, factory) -> None:
    sign_in = make_sign_in(app, client)
    sign_in(factory.user("root2", is_staff=True))
    assert "/lti/platforms" in client.get("/").get_data(as_text=True)
    sign_in(factory.user("plain2"))
    assert "/lti/platforms" not in client.get("/").get_data(as_text=True)
