"""A bounded load test on loopback: the real server, one then two web processes, under locust.

Prints JSON: for each number of web processes and each scenario (browse, in English and
French; search; the sign-in page; a proposal submit; a webhook storm), requests per second, p50
and p95 in milliseconds and failures, at a fixed number of simulated people (--users), each
sending a request as soon as the last is answered; and the resident memory of each web process
at its highest during the run, sampled every 0.2 s, against the 150 MB target. Run with
`python -m bench.load [--users N] [--seconds S] [--opportunities N]`.

The server is the image's web command (`python -OO ... -m app serve`) with `--workers N`, run by
a Python that has only the runtime lock's packages, as the image has (made once, in
.venv/bench-runtime), on a throwaway PostgreSQL, with the listing benchmark's
opportunities (bench/listing.py), the published ones open for proposals, and one developer per
simulated person. It runs with DEVEX_ENV=test: production refuses several web processes with
the in-memory rate-limit store (each would count on its own) and there is no shared store here;
test differs from production only in HSTS and demo sign-in, which the proposal scenario uses to
sign developers in. The sign-in and form-post limits are raised far above the load, so the
limiter runs on every request and never refuses one. The people are bench/locustfile.py; locust
runs in its own process, because it patches the standard library for gevent.

Each scenario runs --warmup seconds, not counted, then --seconds measured. Locust, PostgreSQL
and the server share the machine: with two cores, two web processes compete with the load
generator for them, so the figures say what one machine does, not what a second core would.
The throwaway PostgreSQL does not sync to disk: writes cost less than in production.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx2
import psutil
from sqlalchemy import insert, text

from app import migrations
from app.config import Settings
from app.db import make_engine
from app.models import User
from bench.listing import VOCABULARY, load_to
from tests.support.deployment import web_command
from tests.support.postgres import PostgresServer
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# The server's own packages, from the runtime lock, beside the development environment's.
RUNTIME_VENV = ROOT / ".venv" / "bench-runtime"
SCENARIOS = {
    "browse": "Browse",
    "search": "Search",
    "sign_in_page": "SignInPage",
    "proposal_submit": "Propose",
    "webhook_ack": "WebhookStorm",
}
RSS_TARGET_MB = 150
UNLIMITED = "1000000/minute"
# Who signs in before the warm-up starts (locustfile.py's "setup:" requests), and the time
# allowed for it so that the measured window stays whole.
SIGNS_IN = {"Propose"}
SETUP_SECONDS = 5
# Locust's clock starts before the first person's first request: a margin after the window.
TAIL_SECONDS = 2


class PeakMemory:
    """The highest memory of each of some processes while the block runs: resident (RSS, the
    target's measure, which counts shared library pages in every process) and unique (USS, what
    the process alone holds and would give back on exit)."""

    def __init__(self, processes: list[psutil.Process]) -> None:
        self.processes = processes
        self.idle = [_megabytes(process.memory_info().rss) for process in processes]
        self.rss = dict.fromkeys((p.pid for p in processes), 0)
        self.uss = dict.fromkeys((p.pid for p in processes), 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for process in self.processes:
                memory = process.memory_full_info()
                self.rss[process.pid] = max(self.rss[process.pid], memory.rss)
                self.uss[process.pid] = max(self.uss[process.pid], memory.uss)
            self._stop.wait(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _prepare(url: str, opportunities: int, developers: int) -> dict[str, str]:
    """Loads the data and returns what the simulated people need to know of it."""
    rng = random.Random(20261202)
    load_to(url, opportunities, rng)
    terms = Settings().terms_version
    engine = make_engine(url)
    with engine.begin() as connection:
        # The listing benchmark's deadlines are in the past: reopen the published ones, as on a
        # live site where a published opportunity takes proposals until its deadline.
        open_ids = connection.scalars(
            text(
                "UPDATE opportunities SET proposal_deadline = now() + (7 + id % 23) * "
                "interval '1 day' WHERE state = 'published' RETURNING id"
            )
        ).all()
        all_ids = connection.scalars(text("SELECT id FROM opportunities")).all()
        developer_ids = connection.scalars(
            insert(User).returning(User.id),
            [
                {
                    "github_id": 900_000 + n,
                    "login": f"developer{n}",
                    "name": f"Developer {n}",
                    "terms_version": terms,
                    "terms_accepted_at": datetime.now(UTC),
                }
                for n in range(developers)
            ],
        ).all()
    engine.dispose()
    return {
        "BENCH_LOAD_OPPORTUNITIES": " ".join(map(str, all_ids)),
        "BENCH_LOAD_OPEN": " ".join(map(str, open_ids)),
        "BENCH_LOAD_DEVELOPERS": " ".join(map(str, developer_ids)),
        "BENCH_LOAD_WORDS": " ".join(rng.sample(VOCABULARY, 50)),
    }


def _serve(
    env: dict[str, str], workers: int, log: IO[bytes]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [*web_command(port, _runtime_python()), "--workers", str(workers)]
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # imports alone take seconds on a busy machine
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"{base}/healthz", timeout=1)
            return process, base
        except httpx2.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def _runtime_python() -> str:
    """A Python with the runtime lock alone, as the image has it (deploy/Dockerfile): the
    development lock's extra libraries would count in the web process's memory (structlog loads
    rich whenever it is installed). Made once per version of the lock, its bytecode compiled as
    the image compiles it; the server runs from the project's folder, where `-m app` finds the
    app."""
    lock = ROOT / "requirements" / "runtime.txt"
    python = RUNTIME_VENV / "bin" / "python"
    stamp = RUNTIME_VENV / "runtime.txt.sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != digest:
        shutil.rmtree(RUNTIME_VENV, ignore_errors=True)
        # From inside a virtual environment, venv builds on the base interpreter.
        subprocess.run([sys.executable, "-m", "venv", RUNTIME_VENV], check=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--require-hashes", "-r", lock],
            check=True,
        )
        subprocess.run(
            [python, "-m", "compileall", "-q", "-j", "0", "-o", "0", "-o", "2", RUNTIME_VENV],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        stamp.write_text(digest)
    return str(python)


def _web_processes(server: subprocess.Popen[bytes], workers: int) -> list[psutil.Process]:
    """The processes that answer requests: the server itself when it is one, else the worker
    processes uvicorn starts (not its multiprocessing helpers), once each has settled (its
    imports done: no CPU spent for half a second)."""
    root = psutil.Process(server.pid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = (
            [root]
            if workers == 1
            else [
                child
                for child in root.children()
                if "resource_tracker" not in " ".join(child.cmdline())
            ]
        )
        if len(found) == workers and all(_idle(process) for process in found):
            return found
        time.sleep(0.2)
    raise RuntimeError(f"{workers} web processes did not settle")


def _idle(process: psutil.Process) -> bool:
    before = sum(process.cpu_times()[:2])
    time.sleep(0.5)
    return sum(process.cpu_times()[:2]) - before < 0.05


def _locust(base: str, user_class: str, env: dict[str, str], args: argparse.Namespace) -> Any:
    """Runs one scenario in a locust process and returns its requests as locustfile.py wrote
    them: [start time (s), duration (ms), name, succeeded]."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "requests.json"
        command = [
            sys.executable,
            "-m",
            "locust",
            "--locustfile",
            str(LOCUSTFILE),
            "--headless",
            "--only-summary",
            "--loglevel",
            "ERROR",
            "--host",
            base,
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.users),
            "--run-time",
            f"{args.warmup + args.seconds + _extra_seconds(user_class)}s",
            user_class,
        ]
        finished = subprocess.run(
            command,
            env={**os.environ, **env, "BENCH_LOAD_OUTPUT": str(output)},
            capture_output=True,
            check=False,
        )
        if not output.exists():
            raise RuntimeError(f"locust wrote nothing: {finished.stderr.decode()[-2000:]}")
        return json.loads(output.read_text())


def _extra_seconds(user_class: str) -> int:
    return TAIL_SECONDS + (SETUP_SECONDS if user_class in SIGNS_IN else 0)


def _summary(requests: list[list[Any]], warmup: float, seconds: float) -> dict[str, Any]:
    """Figures over the requests that started after the warm-up (counted from the first
    request after setup) and ended within the measured seconds."""
    measured = [r for r in requests if not str(r[2]).startswith("setup:")]
    if not measured:  # every request of the scenario was its setup: it never got going
        return {"requests": 0, "setup": sorted({(r[2], r[3]) for r in requests})}
    start = min(r[0] for r in measured) + warmup
    end = min(start + seconds, max(r[0] + r[1] / 1000 for r in measured))
    window = [r for r in measured if r[0] >= start and r[0] + r[1] / 1000 <= end]
    figures = _figures(window, end - start)
    names = sorted({r[2] for r in window})
    if len(names) > 1:
        figures["by_request"] = {
            name: _figures([r for r in window if r[2] == name], end - start) for name in names
        }
    return figures


def _figures(requests: list[list[Any]], seconds: float) -> dict[str, Any]:
    latencies = sorted(r[1] for r in requests)
    return {
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1),
        "failures": sum(1 for r in requests if not r[3]),
    }


def _run_with(
    workers: int, server_env: dict[str, str], people: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryFile() as log:
        server, base = _serve(server_env, workers, log)
        try:
            web = _web_processes(server, workers)
            scenarios: dict[str, dict[str, Any]] = {}
            with PeakMemory(web) as memory:
                for scenario, user_class in SCENARIOS.items():
                    requests = _locust(base, user_class, people, args)
                    scenarios[scenario] = {
                        **_summary(requests, args.warmup, args.seconds),
                        # The highest so far, after this scenario: which one raised the peak.
                        "peak_rss_mb_so_far": [_megabytes(p) for p in memory.rss.values()],
                    }
        finally:
            server.terminate()
            server.wait(timeout=30)
        log.seek(0)
        warnings = _warnings(log.read().decode(errors="replace"))
    peaks_mb = [_megabytes(peak) for peak in memory.rss.values()]
    return {
        "scenarios": scenarios,
        "server_warnings": warnings,
        "web_process_idle_rss_mb": memory.idle,
        "web_process_peak_rss_mb": peaks_mb,
        "web_process_peak_uss_mb": [_megabytes(peak) for peak in memory.uss.values()],
        "every_web_process_under_150_mb": all(peak < RSS_TARGET_MB for peak in peaks_mb),
    }


def _warnings(log: str) -> dict[str, int]:
    """How often the server logged each warning or error: a scenario that stalls (a deadlock,
    a pool timeout) shows here by name, not only as missing requests."""
    counts: dict[str, int] = {}
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # uvicorn's own lines are not JSON
        if isinstance(record, dict) and record.get("level") in ("warning", "error", "critical"):
            key = f"{record['level']}: {record.get('event', '')}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def _megabytes(size: int) -> float:
    return round(size / 1024 / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20, help="simulated people at once")
    parser.add_argument("--seconds", type=int, default=15, help="measured, per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="not counted, per scenario")
    parser.add_argument("--opportunities", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    postgres = PostgresServer()
    postgres.start()
    try:
        url = postgres.create_database("devex_bench_load")
        migrations.upgrade(url)
        people = _prepare(url, args.opportunities, args.users)
        webhook_secret = secrets.token_hex(20)
        people["BENCH_LOAD_WEBHOOK_SECRET"] = webhook_secret
        server_env = {
            "DEVEX_DATABASE_URL": url,
            "DEVEX_ENV": "test",
            "DEVEX_SECRET_KEY": secrets.token_hex(32),
            "DEVEX_DEMO_SIGN_IN": "true",
            "DEVEX_GITHUB_WEBHOOK_SECRET": webhook_secret,
            "DEVEX_LOG_JSON": "true",
            "DEVEX_RATE_LIMIT_SIGN_IN": UNLIMITED,
            "DEVEX_RATE_LIMIT_FORM_POSTS": UNLIMITED,
            # As the image sets it (deploy/Dockerfile): two memory arenas for the thread pool.
            "MALLOC_ARENA_MAX": "2",
        }
        results: dict[str, Any] = {
            "users": args.users,
            "seconds_measured_per_scenario": args.seconds,
            "opportunities": args.opportunities,
            "cpus": os.cpu_count(),
            "rss_target_mb": RSS_TARGET_MB,
            "web_processes": {
                str(workers): _run_with(workers, server_env, people, args)
                for workers in args.workers
            },
        }
    finally:
        postgres.stop()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
