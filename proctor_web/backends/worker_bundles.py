"""Providers' browser workers that we serve ourselves: built from npm packages, read back.

A provider whose desktop software needs a browser worker publishes it as an npm package
(``npm_module`` in its backend settings, e.g. ``@edx/mockprock``). Those packages are ES
modules that import their helpers, and a classic Web Worker (which is what the learner's page
starts, through ``importScripts``) cannot load them: "Cannot use import statement outside a
module". So ``flask --app proctor_web proctor build-worker <backend>`` installs the package
with npm and bundles it with esbuild into one classic script (an IIFE, no imports left),
``<PROVIDER_WORKER_DIR>/<backend>.js``; the learner pages load it from
``/proctoring/workers/<backend>.js``.

Building needs Node.js and npm, and the network to the npm registry unless ``--from`` names a
local package directory or tarball. esbuild comes from the project's ``node_modules`` (``npm
ci`` in the project root installs the pinned one) or PATH; failing both, the build installs
``esbuild@ESBUILD_VERSION`` beside the provider's package.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from proctor_web.errors import BackendError

#: Where we serve the browser worker of a backend whose worker we host ourselves.
SERVED_WORKER_PATH = "/proctoring/workers/{name}.js"
#: An npm package name, optionally with a version or range: ``@edx/mockprock@1.0.2``.
NPM_MODULE_PATTERN = re.compile(
    r"(?P<name>(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*)(?:@(?P<version>[^\s@/]+))?"
)
#: The esbuild installed when neither the project nor PATH has one (as in package.json).
ESBUILD_VERSION = "0.28.2"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
NPM_INSTALL_SECONDS = 600
ESBUILD_SECONDS = 120


class WorkerNotBuilt(BackendError):
    """A backend names an ``npm_module`` whose worker bundle was never built."""

    status = 503


class WorkerBuildError(BackendError):
    """``build-worker`` could not install or bundle the provider's package."""

    status = 500


def npm_package_name(npm_module: str) -> str:
    """``npm_module`` without its version: the name its bundle imports."""
    match = NPM_MODULE_PATTERN.fullmatch(npm_module or "")
    return match.group("name") if match else ""


def bundle_path(bundle_dir: str | os.PathLike[str], backend_name: str) -> Path:
    return Path(bundle_dir or ".") / f"{backend_name}.js"


def read_worker_bundle(bundle_dir: str, backend_name: str, npm_module: str) -> str:
    try:
        return bundle_path(bundle_dir, backend_name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkerNotBuilt(
            f"The browser worker of backend {backend_name!r} ({npm_module}) is not built: "
            f"run `flask --app proctor_web proctor build-worker {backend_name}`."
        ) from None


def find_esbuild() -> str | None:
    """The project's esbuild (``npm ci`` in the project root), else one on PATH."""
    for root in (PROJECT_ROOT, Path.cwd()):
        candidate = root / "node_modules" / ".bin" / "esbuild"
        if candidate.exists():
            return str(candidate)
    return shutil.which("esbuild")


def _run(command: list[str], cwd: Path, timeout: int) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError as error:
        raise WorkerBuildError(f"{command[0]} is not installed: {error}") from None
    except subprocess.TimeoutExpired:
        raise WorkerBuildError(f"{Path(command[0]).name} took longer than {timeout} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise WorkerBuildError(f"{Path(command[0]).name} {command[1]} failed:\n{tail}")
    return done.stdout.strip()


def build_worker_bundle(
    backend_name: str,
    npm_module: str,
    bundle_dir: str | os.PathLike[str],
    *,
    source: str | None = None,
    esbuild: str | None = None,
) -> Path:
    """Install ``npm_module`` (or the package at ``source``) and bundle it into one classic
    worker script at ``<bundle_dir>/<backend_name>.js``; return that path.

    The package is installed with ``--ignore-scripts``: its install scripts never run here.
    """
    package = npm_package_name(npm_module)
    if not package:
        raise WorkerBuildError(f"Backend {backend_name!r} names no npm_module to build.")
    npm = shutil.which("npm")
    if npm is None:
        raise WorkerBuildError("Building a provider worker needs Node.js and npm on PATH.")
    out_dir = Path(bundle_dir)
    work = out_dir / ".build" / backend_name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "package.json").write_text(
        json.dumps({"name": "proctor-web-worker-build", "private": True}), encoding="utf-8")
    specs = [str(Path(source).resolve()) if source else npm_module]
    esbuild = esbuild or find_esbuild()
    if esbuild is None:
        specs.append(f"esbuild@{ESBUILD_VERSION}")
    _run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--ignore-scripts",
          "--install-links", "--loglevel=error", *specs], work, NPM_INSTALL_SECONDS)
    installed = work / "node_modules" / package / "package.json"
    if not installed.exists():
        raise WorkerBuildError(
            f"npm installed no package named {package!r}"
            + (f" from {source} (is that its name in package.json?)" if source else "."))
    version = json.loads(installed.read_text(encoding="utf-8")).get("version", "?")
    esbuild = esbuild or str(work / "node_modules" / ".bin" / "esbuild")
    esbuild_version = _run([esbuild, "--version"], work, ESBUILD_SECONDS)
    # The entry only imports the package: a worker package registers its message handler when
    # it is evaluated.
    (work / "entry.js").write_text(f"import {json.dumps(package)};\n", encoding="utf-8")
    partial = out_dir / f".{backend_name}.js.partial"
    _run([esbuild, "entry.js", "--bundle", "--format=iife", "--platform=browser",
          "--target=es2020", "--charset=utf8", "--log-level=warning",
          f"--outfile={partial.resolve()}"], work, ESBUILD_SECONDS)
    bundle = partial.read_text(encoding="utf-8")
    header = (f"// {package}@{version} for backend {backend_name}, bundled by esbuild "
              f"{esbuild_version} (flask proctor build-worker {backend_name}).\n")
    partial.write_text(header + bundle, encoding="utf-8")
    final = bundle_path(out_dir, backend_name)
    os.replace(partial, final)  # learners never load a half-written bundle
    shutil.rmtree(work, ignore_errors=True)
    with contextlib.suppress(OSError):
        work.parent.rmdir()  # only when no other backend's build is under way
    return final
