"""A provider's npm worker, bundled by `flask proctor build-worker`, runs as a classic worker.

The fixture package (tests/fixtures/worker_package) is an ES module that imports its helpers,
as providers publish theirs. Loaded as-is by the page's worker bridge it fails ("Cannot use
import statement outside a module"); built by the documented command (offline: npm is
pointed at a closed port) and served by our route, it answers the bridge's prompts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask, Response, abort

from proctor_web import create_app
from proctor_web.backends.worker_bundles import find_esbuild
from proctor_web.testing.fake_provider import serve_in_background

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "worker_package"
BRIDGE = ROOT / "proctor_web" / "static" / "js" / "worker-bridge.js"
BACKENDS = {"DEFAULT": "acme", "acme": {"class": "mock",
                                       "npm_module": "proctor-web-worker-fixture@1.2.3"}}

pytestmark = pytest.mark.skipif(shutil.which("npm") is None, reason="needs Node.js and npm")


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What an operator runs, in a process of its own, with no registry within reach."""
    assert find_esbuild(), "esbuild is missing: run `npm ci` in the project root"
    work = tmp_path_factory.mktemp("worker-build")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PROCTOR_SECRET_KEY": "build-worker-test",
        # Never created: the command must not need a database.
        "PROCTOR_DATABASE_URL": f"sqlite:///{work}/absent/db.sqlite3",
        "PROCTOR_BACKENDS": json.dumps(BACKENDS),
        "PROCTOR_PROVIDER_WORKER_DIR": str(work / "workers"),
        "npm_config_registry": "http://127.0.0.1:9/",
        "npm_config_offline": "true",
        "npm_config_cache": str(work / "npm-cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "proctor_web", "proctor", "build-worker",
         "acme", "--from", str(FIXTURE)],
        cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "/proctoring/workers/acme.js" in done.stdout
    assert not (work / "workers" / ".build").exists()
    assert not (work / "absent").exists()
    return work / "workers"


def served_bundle(bundle_dir: Path) -> str:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://",
                      "BACKENDS": BACKENDS, "PROVIDER_WORKER_DIR": str(bundle_dir)})
    answer = app.test_client().get("/proctoring/workers/acme.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    return answer.get_data(as_text=True)


def test_the_bundle_is_one_classic_script(bundle_dir: Path) -> None:
    script = served_bundle(bundle_dir)
    assert script.startswith("// proctor-web-worker-fixture@1.2.3 for backend acme, "
                             "bundled by esbuild ")
    assert "\nimport " not in script and "\nexport " not in script
    assert "wrapHandler" in script  # the helper module was pulled in


@pytest.fixture
def origin(bundle_dir: Path):
    """A plain page with the bridge, the built bundle and the raw package on one origin."""
    site = Flask(__name__)
    files = {"/bundle.js": served_bundle(bundle_dir),
             "/js/worker-bridge.js": BRIDGE.read_text(encoding="utf-8")}
    files.update({f"/raw/{path.name}": path.read_text(encoding="utf-8")
                  for path in FIXTURE.glob("*.js")})

    @site.get("/")
    def home() -> Response:
        return Response("<!doctype html><title>worker probe</title>", mimetype="text/html")

    @site.get("/<path:path>")
    def file(path: str) -> Response:
        if f"/{path}" not in files:
            abort(404)
        return Response(files[f"/{path}"], mimetype="text/javascript")

    with serve_in_background(site) as server:
        yield server.url


PROBE = """async ([url, attempt]) => {
  const { ProviderWorker } = await import("/js/worker-bridge.js");
  const worker = new ProviderWorker(url, attempt);
  const outcome = async (prompt) => {
    try { return { ok: true, reply: (await prompt()).type }; }
    catch (error) { return { ok: false, error: error.message }; }
  };
  return {
    start: await outcome(() => worker.startExamAttempt()),
    ping: await outcome(() => worker.ping(2000)),
    end: await outcome(() => worker.endExamAttempt()),
  };
}"""


def test_the_bundled_worker_answers_the_bridge_in_chromium(page, origin) -> None:
    page.goto(origin + "/")
    result = page.evaluate(PROBE, ["/bundle.js", "attempt-1"])
    assert result == {
        "start": {"ok": True, "reply": "examAttemptStarted"},
        "ping": {"ok": True, "reply": "echo"},
        "end": {"ok": True, "reply": "examAttemptEnded"},
    }
    refused = page.evaluate(PROBE, ["/bundle.js", "refuse-me"])["start"]
    assert refused == {"ok": False,
                       "error": "examAttemptStartFailed: fixture refuses this attempt"}


def test_the_package_as_published_fails_as_a_classic_worker(page, origin) -> None:
    page.goto(origin + "/")
    result = page.evaluate(PROBE, ["/raw/index.js", "attempt-1"])
    assert result["start"]["ok"] is False
    assert "Cannot use import statement outside a module" in result["start"]["error"]
