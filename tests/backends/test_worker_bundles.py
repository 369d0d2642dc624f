"""Providers' browser workers we serve: the ``npm_module`` and mock ``worker`` settings, the
route that serves them and ``flask proctor build-worker``'s refusals. The bundle itself is
built and run in Chromium by tests/browser/test_worker_bundle.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proctor_web import create_app
from proctor_web.backends import worker_bundles
from proctor_web.backends.base import BackendSettingsError
from proctor_web.backends.mock import MockBackend
from proctor_web.backends.null import NullBackend
from proctor_web.backends.worker_bundles import (
    WorkerBuildError,
    build_worker_bundle,
    npm_package_name,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "worker_package"


def _app(tmp_path: Path, **backends):
    return create_app({
        "TESTING": True, "SECRET_KEY": "worker-bundles", "DATABASE_URL": "sqlite://",
        "PROVIDER_WORKER_DIR": str(tmp_path),
        "BACKENDS": {"DEFAULT": "null", "null": {}, **backends},
    })


@pytest.mark.parametrize(("module", "name"), [
    ("@edx/mockprock", "@edx/mockprock"), ("@edx/mockprock@1.0.2", "@edx/mockprock"),
    ("edx-proctoring-proctortrack@^1.2", "edx-proctoring-proctortrack"), ("a.b_c~d", "a.b_c~d"),
])
def test_npm_package_names_with_or_without_a_version_are_accepted(module: str, name: str) -> None:
    assert MockBackend("acme", {"npm_module": module}).npm_module == module
    assert npm_package_name(module) == name


@pytest.mark.parametrize("module", ["../evil", "UPPER", "@edx/", "a b", "@edx/x@1@2",
                                    "--registry=http://x", 42])
def test_anything_but_an_npm_package_name_is_refused_at_start_up(module) -> None:
    with pytest.raises(BackendSettingsError, match="npm_module must be an npm package name"):
        MockBackend("acme", {"npm_module": module})


@pytest.mark.parametrize(("settings", "message"), [
    ({"worker": "yes"}, "worker must be true or false"),
    ({"worker": True, "desktop_app_url": "ftp://127.0.0.1"}, "must be an http"),
])
def test_bad_mock_worker_settings_are_refused(settings, message) -> None:
    with pytest.raises(BackendSettingsError, match=message):
        MockBackend("mock", settings)


def test_who_serves_a_worker_and_where() -> None:
    assert NullBackend("null", {}).get_javascript() is None
    assert MockBackend("mock", {}).get_javascript() is None
    assert MockBackend("mock", {}).get_worker_script() is None
    assert MockBackend("m2", {"worker": True}).get_javascript() == "/proctoring/workers/m2.js"
    assert MockBackend("npm", {"npm_module": "@edx/mockprock"}).get_javascript() == \
        "/proctoring/workers/npm.js"


def test_the_route_serves_the_mock_worker_and_revalidates_it(tmp_path) -> None:
    app = _app(tmp_path, mock={"worker": True, "desktop_app_url": "http://127.0.0.1:11136"})
    client = app.test_client()
    answer = client.get("/proctoring/workers/mock.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert answer.get_data(as_text=True).startswith(
        'self.fakeProviderWorker = {"desktopUrl": "http://127.0.0.1:11136"};\n')
    assert answer.headers["Cache-Control"] == "no-cache"
    again = client.get("/proctoring/workers/mock.js",
                       headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_the_route_serves_a_built_bundle_as_it_is(tmp_path) -> None:
    (tmp_path / "acme.js").write_text("(() => { self.onmessage = () => {}; })();\n")
    app = _app(tmp_path, acme={"class": "mock", "npm_module": "@edx/mockprock"})
    answer = app.test_client().get("/proctoring/workers/acme.js")
    assert answer.status_code == 200
    assert answer.get_data(as_text=True) == "(() => { self.onmessage = () => {}; })();\n"


@pytest.mark.parametrize("name", ["null", "nobody", "..%2Fsecret"])
def test_no_worker_here_is_a_404(tmp_path, name: str) -> None:
    app = _app(tmp_path)
    assert app.test_client().get(f"/proctoring/workers/{name}.js").status_code == 404


def test_a_worker_never_built_is_a_503_that_says_what_to_run(tmp_path) -> None:
    app = _app(tmp_path, acme={"class": "mock", "npm_module": "@edx/mockprock"})
    answer = app.test_client().get("/proctoring/workers/acme.js",
                                   headers={"Accept": "application/json"})
    assert answer.status_code == 503
    assert "flask --app proctor_web proctor build-worker acme" in answer.get_data(as_text=True)


def test_build_worker_refuses_a_backend_without_npm_module(tmp_path) -> None:
    app = _app(tmp_path, mock={})
    result = app.test_cli_runner().invoke(args=["proctor", "build-worker", "mock"])
    assert result.exit_code == 1
    assert "has no npm_module in PROCTOR_BACKENDS: nothing to build" in result.output
    result = app.test_cli_runner().invoke(args=["proctor", "build-worker", "nobody"])
    assert result.exit_code == 1 and "nobody" in result.output


def test_build_worker_without_npm_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(worker_bundles.shutil, "which", lambda name: None)
    with pytest.raises(WorkerBuildError, match="needs Node.js and npm"):
        build_worker_bundle("acme", "@edx/mockprock", tmp_path)
    assert not (tmp_path / "acme.js").exists()


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs Node.js and npm")
def test_a_package_under_another_name_is_not_bundled(tmp_path) -> None:
    with pytest.raises(WorkerBuildError, match="npm installed no package named 'other-name'"):
        build_worker_bundle("acme", "other-name", tmp_path, source=str(FIXTURE))
    assert not (tmp_path / "acme.js").exists()
