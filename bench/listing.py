"""Listing and search latency at 1k, 10k and 100k opportunities on PostgreSQL.

Prints JSON: p50/p95 of the HTML list page, of an API search for a word in ~1.3% of rows and
of one for a word in none (a typo), at each size, and the ratio of p95 at the largest size to
p95 at the smallest; and each server's resident memory. Run with `make bench` (or
`python -m bench.listing --sizes 1000 100000 --published random`).

Each size has a database and a server of its own, and the sizes take turns request by request.
The data is shaped twice: rows inserted in the order they were published, as on a live site,
and in random order of publication, where the table's order tells the planner nothing. The
server, PostgreSQL and this client share the machine, so expect some noise between runs; each
figure is over --requests requests after a warm-up of 30.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import psutil
from sqlalchemy import insert, text

from app import migrations
from app.db import make_engine
from app.models import Opportunity, OpportunitySkill, Team
from tests.support.postgres import PostgresServer
from tests.support.server import free_port

STATES = ["published"] * 5 + ["evaluating", "awarded", "in_progress", "paid", "cancelled"]
SKILLS = ["python", "react", "accessibility", "go", "postgresql", "css", "i18n", "api", "rust"]
VOCABULARY = [f"w{n:04d}" for n in range(2000)]  # ~1.5% of rows contain a given word
COMMON = [
    "the",
    "service",
    "users",
    "form",
    "data",
    "page",
    "error",
    "search",
    "report",
    "accessible",
]


ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)
RANDOM_SPAN_MINUTES = 5 * 200_000  # about two years


def _published(n: int, order: str, rng: random.Random) -> datetime:
    if order == "random":
        # Rows in the table in no relation to their publication: the index on published_at
        # then tells the planner nothing about where on disk the newest rows are.
        return ORIGIN + timedelta(minutes=rng.randrange(RANDOM_SPAN_MINUTES))
    # As on a live site, rows arrive in the order they are published (with some jitter): the
    # 100,000th opportunity was published after the first, and deadlines follow publication.
    return ORIGIN + timedelta(minutes=5 * n + rng.randrange(0, 60))


def _rows(
    start: int, count: int, team_ids: list[int], rng: random.Random, order: str
) -> list[dict[str, Any]]:
    rows = []
    for n in range(start, start + count):
        words = rng.sample(VOCABULARY, 25) + rng.sample(COMMON, 5)
        published = _published(n, order, rng)
        rows.append(
            {
                "team_id": rng.choice(team_ids),
                "state": rng.choice(STATES),
                "title": f"Opportunity {n} {' '.join(words[:4])}",
                "title_fr": "",
                "problem_statement": " ".join(words),
                "problem_statement_fr": "",
                "context_links": "",
                "acceptance_criteria": "- done",
                "acceptance_criteria_fr": "",
                "remote": True,
                "location": "",
                "amount_cents": rng.randrange(10_000, 999_900),
                "currency": "CAD",
                "proposal_deadline": published + timedelta(days=rng.randrange(7, 30)),
                "github_repository_full_name": "bench/repo",
                "github_issue_number": n,
                "license_spdx": "MIT",
                "search_document": " ".join(words),
                "created_at": published - timedelta(days=2),
                "updated_at": published,
                "published_at": published,
            }
        )
    return rows


def load_to(url: str, target: int, rng: random.Random, order: str = "time") -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        team_ids = list(connection.scalars(text("SELECT id FROM teams")))
        if not team_ids:
            connection.execute(
                insert(Team),
                [
                    {
                        "slug": f"team-{i}",
                        "name": f"Team {i}",
                        "name_fr": "",
                        "organization": "",
                        "description": "",
                        "description_fr": "",
                        "created_at": datetime.now(UTC),
                    }
                    for i in range(20)
                ],
            )
            team_ids = list(connection.scalars(text("SELECT id FROM teams")))
        have = int(connection.scalar(text("SELECT count(*) FROM opportunities")) or 0)
    while have < target:
        batch = min(5000, target - have)
        with engine.begin() as connection:
            ids = connection.scalars(
                insert(Opportunity).returning(Opportunity.id),
                _rows(have, batch, team_ids, rng, order),
            ).all()
            connection.execute(
                insert(OpportunitySkill),
                [{"opportunity_id": i, "skill": s} for i in ids for s in rng.sample(SKILLS, 2)],
            )
        have += batch
    # As autovacuum would leave a live database: statistics fresh, visibility map set.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _timed_get(client: httpx2.Client, path: str) -> tuple[float, int]:
    """Milliseconds to answer, and how many opportunities the answer lists."""
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    if response.headers["content-type"].startswith("application/json"):
        return elapsed, len(response.json()["items"])
    return elapsed, response.text.count('class="card"')


def _summary(timings: list[float], items: list[int]) -> dict[str, Any]:
    timings = sorted(timings)
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "requests": len(timings),
        "mean_items_per_page": round(statistics.mean(items), 1),
    }


def _list_paths(rng: random.Random, n: int) -> list[str]:
    variants = [
        "/opportunities",
        "/opportunities?state=published",
        "/opportunities?sort=deadline",
        "/opportunities?skill=python",
        "/opportunities?sort=amount_high&state=published",
    ]
    return [rng.choice(variants) for _ in range(n)]


def _common_word_paths(rng: random.Random, n: int) -> list[str]:
    # Words in ~1.3% of rows: about 1,300 matches at 100k, sorted newest first. A page of 10
    # is full at every size (13 matches at 1k), so the sizes compare the same work.
    return [f"/api/v1/opportunities?limit=10&q={rng.choice(VOCABULARY)}" for _ in range(n)]


def _absent_word_paths(rng: random.Random, n: int) -> list[str]:
    # A typo: a word in no row. The planner guesses it is as common as a word it knows
    # nothing about and walks the listing newest first looking for a match: its worst case.
    return [f"/api/v1/opportunities?limit=10&q=zq{rng.randrange(10**6):06d}" for _ in range(n)]


KINDS = {
    "list_page": _list_paths,
    "search_common_word": _common_word_paths,
    "search_absent_word": _absent_word_paths,
}


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "DEVEX_DATABASE_URL": url, "DEVEX_ENV": "test", "DEVEX_LOG_JSON": "true"}
    command = [sys.executable, "-m", "app", "serve", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"{base}/healthz", timeout=1)
            return process, base
        except httpx2.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def _compare_sizes(
    urls: dict[int, str], rng: random.Random, requests: int
) -> dict[str, dict[str, Any]]:
    """Each kind of request at every size, the sizes taking turns request by request: a busy
    moment of the machine falls on all of them alike, and the ratios compare like with like."""
    servers = {size: start_server(url) for size, url in urls.items()}
    clients = {
        size: httpx2.Client(base_url=base, timeout=30) for size, (_, base) in servers.items()
    }
    try:
        results: dict[str, dict[str, Any]] = {str(size): {} for size in urls}
        for kind, paths_for in KINDS.items():
            paths = paths_for(rng, requests + 30)
            timings: dict[int, list[float]] = {size: [] for size in urls}
            items: dict[int, list[int]] = {size: [] for size in urls}
            for n, path in enumerate(paths):
                for size, client in clients.items():
                    elapsed, count = _timed_get(client, path)
                    if n >= 30:  # the first 30 warm the caches
                        timings[size].append(elapsed)
                        items[size].append(count)
            for size in urls:
                results[str(size)][kind] = _summary(timings[size], items[size])
        for size, (process, _) in servers.items():
            rss = psutil.Process(process.pid).memory_info().rss
            results[str(size)]["server_rss_mb"] = round(rss / 1024 / 1024, 1)
        return results
    finally:
        for client in clients.values():
            client.close()
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--requests", type=int, default=1000, help="per kind and size")
    parser.add_argument(
        "--published", nargs="+", choices=["time", "random"], default=["time", "random"]
    )
    args = parser.parse_args()
    rng = random.Random(20261125)
    postgres = PostgresServer()
    postgres.start()
    results: dict[str, Any] = {"targets": {"p95_ratio_max": 1.5}}
    try:
        for order in args.published:
            urls = {}
            for size in sorted(args.sizes):
                urls[size] = postgres.create_database(f"devex_bench_{order}_{size}")
                migrations.upgrade(urls[size])
                load_to(urls[size], size, rng, order)
            by_size = _compare_sizes(urls, rng, args.requests)
            smallest, largest = by_size[str(min(args.sizes))], by_size[str(max(args.sizes))]
            results[f"published_{order}"] = {
                "sizes": by_size,
                "p95_ratio_largest_to_smallest": {
                    kind: round(largest[kind]["p95_ms"] / smallest[kind]["p95_ms"], 2)
                    for kind in KINDS
                },
            }
    finally:
        postgres.stop()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
