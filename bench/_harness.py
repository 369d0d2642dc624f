"""Reusable benchmark plumbing: serve a WSGI app with gunicorn on 127.0.0.1, load it with wrk.

Typical use::

    from bench._harness import gunicorn_server, run_wrk, print_results

    with gunicorn_server("proctor_web:create_app()", env={...}) as base_url:
        result = run_wrk(base_url + "/healthz", seconds=10, headers={"Cookie": "..."})
    print_results([result])

- ``gunicorn_server(app_spec, env=None, workers=2, timeout=30)`` is a context manager: it picks
  a free port on 127.0.0.1, starts gunicorn (``sys.executable -m gunicorn``) from the
  repository root, waits until the port answers, yields the base URL, and always stops the
  server (SIGTERM, then SIGKILL after 10 s) when the block ends.
- ``run_wrk(url, seconds, connections, threads, headers, label)`` runs ``wrk --latency`` for a
  bounded time and returns a ``WrkResult`` (requests/s, p50/p99 in ms, non-2xx count).
- ``print_results(results, baseline=None)`` prints one row per result, with the ratio of
  requests/s to a baseline result when given.

Nothing here passes or fails: benchmark scripts print numbers and ratios.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
) -> Iterator[str]:
    """Serve ``app_spec`` (gunicorn syntax, e.g. ``"pkg.module:factory()"``) on 127.0.0.1."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", app_spec,
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--timeout", str(timeout),
        "--log-level", "warning",
        "--chdir", str(ROOT),
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
