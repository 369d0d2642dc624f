"""What a provider built against edx-proctoring's REST client sees from us (``responses``):
the JWT authorization scheme, the token renewed 5 s before it expires, ``Accept-Language:
<current>;<default>`` and edx's 40-hex obscured user ids."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import responses

from proctor_web import create_app
from proctor_web.backends.rest import RestBackend
from proctor_web.services.obscured_ids import obscured_user_id

BASE = "https://provider.example"


def make(**overrides) -> RestBackend:
    settings = {"base_url": BASE, "client_id": "cid", "client_secret": "s" * 32}
    settings.update(overrides)
    return RestBackend("rest", settings)


def token_response(rsps, expires_in=3600):
    rsps.post(f"{BASE}/oauth2/access_token",
              json={"access_token": "tok", "expires_in": expires_in})


def _token_calls() -> int:
    return len([c for c in responses.calls if c.request.url.endswith("/oauth2/access_token")])


@responses.activate
def test_calls_carry_a_jwt_authorization_header():
    token_response(responses)
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P"})
    make().get_proctoring_config("en")
    config_call = [c for c in responses.calls if "/config/" in c.request.url][0]
    assert config_call.request.headers["Authorization"] == "JWT tok"


@responses.activate
def test_a_token_is_kept_until_5_seconds_before_it_expires():
    token_response(responses, expires_in=10)
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P"})
    backend = make()
    backend.get_proctoring_config()
    backend.get_proctoring_config()
    assert _token_calls() == 1  # 10 s tokens are still good for 5 s


@responses.activate
def test_a_token_within_5_seconds_of_expiry_is_renewed():
    token_response(responses, expires_in=5)
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P"})
    backend = make()
    backend.get_proctoring_config()
    backend.get_proctoring_config()
    assert _token_calls() == 2


@responses.activate
def test_accept_language_is_current_then_default():
    token_response(responses)
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P"})
    responses.get(f"{BASE}/api/v1/exam/ex-1/attempt/a1/", json={"status": "created"})
    backend = make()
    backend.get_proctoring_config("es")
    backend.get_attempt("ex-1", "a1", locale="es")
    backend.get_proctoring_config("en")
    sent = [c.request.headers.get("Accept-Language") for c in responses.calls
            if not c.request.url.endswith("/oauth2/access_token")]
    assert sent == ["es;en", "es;en", "en;en"]


@responses.activate
def test_the_registry_gives_backends_the_site_default_locale():
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://",
                      "DEFAULT_LOCALE": "es", "LANGUAGES": ["en", "es"],
                      "BACKENDS": {"DEFAULT": "rest", "rest": {
                          "base_url": BASE, "client_id": "cid", "client_secret": "s" * 32}}})
    token_response(responses)
    responses.get(f"{BASE}/api/v1/config/", json={"name": "P"})
    app.extensions["proctor_backends"].get("rest").get_proctoring_config("en")
    assert responses.calls[1].request.headers["Accept-Language"] == "en;es"


def _app(**config):
    return create_app({"TESTING": True, "DATABASE_URL": "sqlite://",
                       "BACKENDS": {"DEFAULT": "null", "null": {}}, **config})


def test_obscured_user_id_matches_edx_proctoring():
    # edx-proctoring's own test vector: user 32432455, nothing appended, under the key its
    # test settings use (SECRET_KEY 'SHHHHHH', no separate obfuscation key).
    with _app(SECRET_KEY="SHHHHHH").app_context():
        assert obscured_user_id(32432455, "") == "9b82efd5d28f1a170b23b8f648c3093e75a0a0ca"
        expected = hmac.new(b"SHHHHHH", b"32432455proctortrack", hashlib.sha1).hexdigest()
        assert obscured_user_id(32432455, "proctortrack") == expected


def test_obscured_user_id_uses_the_obfuscation_key_when_set():
    with _app(SECRET_KEY="SHHHHHH", USER_OBFUSCATION_KEY="85920908f2").app_context():
        value = obscured_user_id(7, "rest")
        assert value == hmac.new(b"85920908f2", b"7rest", hashlib.sha1).hexdigest()
        assert len(value) == 40 and int(value, 16) >= 0


@pytest.mark.parametrize("backend_name", ["rest", "software_secure"])
def test_obscured_user_ids_differ_per_backend(backend_name):
    with _app(SECRET_KEY="k").app_context():
        assert obscured_user_id(1, backend_name) != obscured_user_id(1, "other")
