"""gunicorn settings for proctor_web: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every value can be changed by an environment variable (below) or on the command line.
Before any worker starts, the master builds the app once: a configuration error stops
gunicorn with one line, and so does a database that does not answer.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile

# Where to listen. Behind a TLS proxy on the same host, keep 127.0.0.1.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each serves one request at a time, so run about two per core. Nothing a
# request needs lives in a worker's memory, so any number of them (and of servers) works.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A request is killed after this long (a stuck provider or SMTP server must not hold a
# worker forever; outbound calls have their own shorter timeouts).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Longer than the proxy's idle timeout towards us, so the proxy closes idle connections first.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak can never grow without bound. Not often: a
# new worker takes about a second of CPU to start, and a worker serves about a thousand timer
# polls a second (every 2,000 requests cost 40 % of the poll throughput and put the p99 at
# one second: bench/poll.py --max-requests 2000; README, "Benchmarks").
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "10000"))
# proctor_web logs one line per request itself (JSON with PROCTOR_LOG_FORMAT=json, the
# production default), with the request id; gunicorn's own access log would repeat it.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# The X-Forwarded-* headers are handled by the app alone (PROCTOR_PROXY_FIX_*, one setting per
# header), so gunicorn must not turn X-Forwarded-Proto into https on its own.
secure_scheme_headers: dict[str, str] = {}

# Prometheus: every worker writes its counters to files here and /metrics adds them up.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="proctor-metrics-")


def on_starting(server) -> None:  # noqa: ANN001
    """Fail before forking: bad settings or an unreachable database stop gunicorn in one line.

    gunicorn prints a RuntimeError raised here as ``Error: <message>`` and exits with 1;
    ``ConfigError`` is one.
    """
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    # Files of an earlier run would add its counts to ours.
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))

    from proctor_web import create_app
    from proctor_web.config import ConfigError
    from proctor_web.extensions import db
    from proctor_web.ops import checks

    app = create_app()
    with app.app_context():
        problem = checks.database_problem(db.engine)
        db.engine.dispose()  # no connection may be shared with the forked workers
    if problem:
        raise ConfigError(problem)


def child_exit(server, worker) -> None:  # noqa: ANN001
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # noqa: ANN001
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
