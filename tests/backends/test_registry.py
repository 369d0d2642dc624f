"""Backend lookup: built-ins first, then installed entry points; bad settings stop start-up."""

from __future__ import annotations

import textwrap

import pytest

from proctor_web import create_app
from proctor_web.backends import BUILT_INS, BackendRegistry, backend_class
from proctor_web.backends.base import BackendSettingsError
from proctor_web.backends.rest import RestBackend
from proctor_web.backends.software_secure import SoftwareSecureBackend
from proctor_web.errors import BackendNotConfigured


def test_built_ins():
    assert backend_class("rest") is RestBackend
    assert backend_class("software_secure") is SoftwareSecureBackend
    assert {"null", "mock", "rest", "software_secure"} <= set(BUILT_INS)


def test_entry_point_backends_are_found(tmp_path, monkeypatch):
    package = tmp_path / "acme_proctoring.py"
    package.write_text(textwrap.dedent("""
        from proctor_web.backends.null import NullBackend

        class AcmeBackend(NullBackend):
            verbose_name = "Acme"

        NOT_A_BACKEND = object()
    """))
    dist = tmp_path / "acme_proctoring-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-proctoring\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[proctor_web.backends]\nacme = acme_proctoring:AcmeBackend\n"
        "broken = acme_proctoring:NOT_A_BACKEND\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    registry = BackendRegistry({"DEFAULT": "acme", "acme": {}})
    assert registry.get(None).display_name == "Acme"
    with pytest.raises(BackendSettingsError, match="not name a ProctoringBackend"):
        backend_class("broken")


def test_unknown_backend_and_aliases():
    with pytest.raises(BackendSettingsError, match="No backend named 'nope'"):
        BackendRegistry({"DEFAULT": "nope", "nope": {}})
    registry = BackendRegistry({"DEFAULT": "acme-rest", "acme-rest": {
        "class": "rest", "base_url": "https://p.example", "client_id": "a", "client_secret": "b"}})
    assert isinstance(registry.get("acme-rest"), RestBackend)
    assert registry.get("acme-rest").name == "acme-rest"
    with pytest.raises(BackendNotConfigured):
        registry.get("mock")


def test_bad_settings_stop_the_app_with_a_clear_message():
    with pytest.raises(BackendSettingsError, match="'rest' needs the setting.*client_secret"):
        create_app({"TESTING": True, "BACKENDS": {
            "DEFAULT": "rest", "rest": {"base_url": "https://p.example", "client_id": "x"}}})
