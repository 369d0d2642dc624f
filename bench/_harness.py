"""Reusable benchmark plumbing: serve a WSGI app with gunicorn on 127.0.0.1, load it with wrk.

Typical use::

    from bench._harness import gunicorn_server, run_wrk, print_results

    with gunicorn_server("proctor_web:create_app()", env={...}) as base_url:
        result = run_wrk(base_url + "/healthz", seconds=10, headers={"Cookie": "..."})
    print_results([result])

- ``gunicorn_server(app_spec, env=None, workers=2, timeout=30, ready_path="/",
  extra_args=())`` is a context manager: it picks
  a free port on 127.0.0.1, starts gunicorn (``sys.executable -m gunicorn``) from the
  repository root, waits until the port answers, yields the base URL, and always stops the
  server (SIGTERM, then SIGKILL after 10 s) when the block ends.
- ``run_wrk(url, seconds, connections, threads, headers, label)`` runs ``wrk --latency`` for a
  bounded time and returns a ``WrkResult`` (requests/s, p50/p99 in ms, non-2xx count).
- ``run_clients(clients, seconds, label)`` is the Python load generator for what wrk cannot
  do (a learner whose every request depends on the one before): one thread per client, each
  calling its client (which makes one request and returns the HTTP status) until the time is
  up; the same ``WrkResult`` comes back. ``HttpClient`` makes cheap requests (http.client,
  no pooling: a sync gunicorn worker closes every connection anyway).
- ``print_results(results, baseline=None)`` prints one row per result, with the ratio of
  requests/s to a baseline result when given.
- ``machine()`` describes the cores and the load average, for the first line of a report.

Servers other than gunicorn (a hanging gate, an SMTP sink, the fake provider, Celery
workers, a scratch PostgreSQL database) come from ``proctor_web.testing.loopback``, which
the integration tests use too.

Nothing here passes or fails: benchmark scripts print numbers and ratios.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from proctor_web.testing.loopback import free_port  # noqa: E402


def wait_until_up(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers, even if with an error status
        except OSError as error:
            last = error
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s: {last}")


@contextlib.contextmanager
def gunicorn_server(
    app_spec: str,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    timeout: int = 30,
    ready_path: str = "/",
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Serve ``app_spec`` (gunicorn syntax, e.g. ``"pkg.module:factory()"``) on 127.0.0.1;
    ``extra_args`` go to gunicorn's command line as they are."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", app_spec,
        # Not the project's gunicorn.conf.py (it wants a configured app): the settings here.
        "--config", str(ROOT / "bench" / "gunicorn_plain.conf.py"),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--timeout", str(timeout),
        "--log-level", "warning",
        "--chdir", str(ROOT),
        *extra_args,
    ]
    process = subprocess.Popen(
        command, env={**os.environ, **(env or {})}, cwd=ROOT, start_new_session=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url + ready_path)
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited early with code {process.returncode}")
        yield base_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@dataclass(frozen=True)
class WrkResult:
    label: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int
    latencies_ms: list[float] = field(default_factory=list, repr=False)  # run_clients only


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read a latency from {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, label: str) -> WrkResult:
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.MULTILINE))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    if not (rps and total and "50" in percentiles and "99" in percentiles):
        raise ValueError(f"unexpected wrk output:\n{output}")
    return WrkResult(
        label=label,
        requests_per_second=float(rps.group(1)),
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def run_wrk(
    url: str,
    seconds: int = 10,
    connections: int = 16,
    threads: int = 2,
    headers: Mapping[str, str] | None = None,
    label: str = "",
) -> WrkResult:
    """Load ``url`` for ``seconds`` with wrk and read its latency distribution."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian package 'wrk').")
    command = [wrk, "--latency", "-t", str(threads), "-c", str(connections),
               "-d", f"{seconds}s", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    completed = subprocess.run(command, capture_output=True, text=True, check=True,
                               timeout=seconds + 60)
    return parse_wrk(completed.stdout, label or url)


def print_results(results: list[WrkResult], baseline: WrkResult | None = None) -> None:
    header = f"{'endpoint':<34} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>8}"
    if baseline is not None:
        header += f" {'vs ' + baseline.label:>18}"
    print(header)
    for result in results:
        row = (f"{result.label:<34} {result.requests_per_second:>10.1f} {result.p50_ms:>9.2f} "
               f"{result.p99_ms:>9.2f} {result.non_2xx + result.errors:>8}")
        if baseline is not None:
            row += f" {result.requests_per_second / baseline.requests_per_second:>17.2f}x"
        print(row)


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank); 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class HttpClient:
    """One request per connection to ``base_url`` with fixed headers; returns (status, body)."""

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = dict(headers or {})

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def run_clients(clients: list[Callable[[], int]], seconds: float, label: str,
                after: WrkResult | None = None) -> WrkResult:
    """Call each client in its own thread, again and again for ``seconds``; each call makes
    one request and returns its HTTP status (exceptions count as socket errors). With
    ``after`` (an earlier result of the same label), the result covers both runs."""
    latencies: list[list[float]] = [[] for _ in clients]
    non_2xx = [0] * len(clients)
    errors = [0] * len(clients)
    start = time.monotonic()
    deadline = start + seconds

    def loop(index: int, client: Callable[[], int]) -> None:
        while time.monotonic() < deadline:
            began = time.monotonic()
            try:
                status = client()
            except Exception:
                errors[index] += 1
                continue
            latencies[index].append(time.monotonic() - began)
            if not 200 <= status < 400:
                non_2xx[index] += 1

    threads = [threading.Thread(target=loop, args=(n, c), daemon=True)
               for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    every = [seconds * 1000 for per_client in latencies for seconds in per_client]
    if after is not None:
        every += after.latencies_ms
        elapsed += after.requests / after.requests_per_second if after.requests else 0.0
    return WrkResult(label=label, requests_per_second=len(every) / elapsed,
                     p50_ms=percentile(every, 0.5), p99_ms=percentile(every, 0.99),
                     requests=len(every), non_2xx=sum(non_2xx) + (after.non_2xx if after else 0),
                     errors=sum(errors) + (after.errors if after else 0), latencies_ms=every)


def machine() -> str:
    """Cores of the machine and of this process, and the load average now."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    one, five, fifteen = os.getloadavg()
    return (f"{os.cpu_count()} cores ({usable} usable here), load average "
            f"{one:.2f} {five:.2f} {fifteen:.2f}")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def sign_in(base_url: str, username: str, password: str, user_agent: str):  # noqa: ANN201
    """A ``requests.Session`` signed in through the login form, with the CSRF token of the
    JSON API in ``session.headers["X-CSRFToken"]``. Flask-Login's strong session protection
    ties the session to the address and User-Agent: send ``user_agent`` with every request."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    page = session.get(base_url + "/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError(f"no login form at {base_url}/login ({page.status_code})")
    answer = session.post(base_url + "/login", timeout=30, allow_redirects=False, data={
        "csrf_token": token[1], "username": username, "password": password})
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in of {username} failed: {answer.status_code}")
    session.headers["X-CSRFToken"] = session.get(
        base_url + "/csrf/api/v1/token", timeout=30).json()["csrfToken"]
    return session


def cookie_header(session) -> str:  # noqa: ANN001
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def api_headers(session) -> dict[str, str]:  # noqa: ANN001
    """The headers of a JSON API request as the ``sign_in`` session: its cookie, User-Agent
    and CSRF token."""
    return {"Cookie": cookie_header(session), "User-Agent": session.headers["User-Agent"],
            "X-CSRFToken": session.headers["X-CSRFToken"], "Accept": "application/json",
            "Content-Type": "application/json"}


@contextlib.contextmanager
def celery_queue(broker_url: str, queue_name: str) -> Iterator[str]:
    """A broker queue of our own; purged and deleted at the end (tasks left by a stopped
    worker or a Ctrl-C must not wait in the broker for a later run)."""
    try:
        yield queue_name
    finally:
        from kombu import Connection, Exchange, Queue

        try:
            with Connection(broker_url, connect_timeout=3) as connection:
                # Declared as Celery declares it, so the Redis transport knows the binding
                # and deletes it with the queue.
                queue = Queue(queue_name, Exchange(queue_name, type="direct"),
                              routing_key=queue_name, channel=connection.default_channel)
                queue.declare()
                queue.purge()
                queue.delete()
        except Exception as error:  # the run's figures matter more than this clean-up
            print(f"note: could not delete broker queue {queue_name}: {error}", file=sys.stderr)


def migrate_quietly() -> None:
    """``flask_migrate.upgrade()`` in the current app context, without Alembic's log lines
    (a migrated database at head is what /readyz wants before gunicorn counts as up)."""
    import io

    from flask_migrate import upgrade

    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
            upgrade()
    except Exception:
        sys.stderr.write(captured.getvalue())
        raise


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants still running (Linux /proc):
    read before and after a run, the difference is what the run cost, whatever the load of
    the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so a benchmark stopped by ``kill`` stops its servers
    and drops its database like one stopped by Ctrl-C."""
    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
