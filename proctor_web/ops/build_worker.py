"""``flask proctor build-worker BACKEND``: bundle a provider's npm worker for the learner page.

See ``proctor_web.backends.worker_bundles``; the README's "Provider browser workers" has the
steps. It needs no database, so an image build can run it.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from proctor_web.backends import get_backend
from proctor_web.backends.worker_bundles import (
    WorkerBuildError,
    build_worker_bundle,
)
from proctor_web.errors import ProctorError


@click.command("build-worker")
@click.argument("backend")
@click.option("--from", "source", type=click.Path(exists=True),
              help="Install the package from this directory or tarball instead of the npm "
                   "registry (an offline build, a provider's checkout).")
@click.option("--esbuild", type=click.Path(exists=True, dir_okay=False),
              help="The esbuild to use (default: the project's node_modules, then PATH).")
@with_appcontext
def build_worker_command(backend: str, source: str | None, esbuild: str | None) -> None:
    """Bundle BACKEND's npm_module into one classic worker script that we then serve."""
    try:
        provider = get_backend(backend)
    except ProctorError as error:
        raise click.ClickException(error.message) from None
    if not provider.npm_module:
        raise click.ClickException(
            f"Backend {backend!r} has no npm_module in PROCTOR_BACKENDS: nothing to build.")
    click.echo(f"Building the browser worker of {backend!r} from "
               f"{source or provider.npm_module} ...")
    try:
        path = build_worker_bundle(provider.name, provider.npm_module,
                                   provider.worker_bundle_dir, source=source, esbuild=esbuild)
    except WorkerBuildError as error:
        raise click.ClickException(error.message) from None
    size = Path(path).stat().st_size
    click.echo(f"Wrote {path} ({size:,} bytes); learners load it from "
               f"{provider.get_javascript()} ({current_app.config['SITE_URL']}).")
