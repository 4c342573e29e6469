"""Listing and search latency at 1k, 10k and 100k opportunities on PostgreSQL.

Prints JSON: p50/p95 of the HTML list page and of an API search at each size, the ratio of
p95 at the largest size to p95 at the smallest, and the serving process's resident memory.
Run with `make bench` (or `python -m bench.listing --sizes 1000 10000 100000`).

The data is shaped like a live site's: rows are inserted in the order they were published, and
each search word appears in about 1.5% of rows, the planner's hardest case for "matches, newest
first" at 100k. The server, PostgreSQL and this client share the machine, so expect a few
percent of noise between runs; each figure is over --requests requests after a warm-up.
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


def _rows(start: int, count: int, team_ids: list[int], rng: random.Random) -> list[dict[str, Any]]:
    # As on a live site, rows arrive in the order they are published (with some jitter): the
    # 100,000th opportunity was published after the first, and deadlines follow publication.
    origin = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(start, start + count):
        words = rng.sample(VOCABULARY, 25) + rng.sample(COMMON, 5)
        published = origin + timedelta(minutes=5 * n + rng.randrange(0, 60))
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


def load_to(url: str, target: int, rng: random.Random) -> None:
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
                insert(Opportunity).returning(Opportunity.id), _rows(have, batch, team_ids, rng)
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


def _measure(client: httpx2.Client, paths: list[str]) -> dict[str, float]:
    timings = []
    items = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        if response.headers["content-type"].startswith("application/json"):
            items.append(len(response.json()["items"]))
        else:
            items.append(response.text.count('class="card"'))
    timings.sort()
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


def _search_paths(rng: random.Random, n: int) -> list[str]:
    # Words in ~1.5% of rows: the hardest case for the planner at 100k (about 1,500 matches,
    # sorted newest first). A page of 10 is full at every size (15 matches at 1k), so the sizes
    # compare the same work: rendering 10 results, not 15 at one size and 20 at another.
    return [f"/api/v1/opportunities?limit=10&q={rng.choice(VOCABULARY)}" for _ in range(n)]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(20261125)
    postgres = PostgresServer()
    postgres.start()
    try:
        url = postgres.create_database("devex_bench")
        migrations.upgrade(url)
        process, base = start_server(url)
        results: dict[str, Any] = {"sizes": {}}
        try:
            with httpx2.Client(base_url=base, timeout=30) as client:
                for size in sorted(args.sizes):
                    load_to(url, size, rng)
                    _measure(client, _list_paths(rng, 30) + _search_paths(rng, 30))  # warm-up
                    results["sizes"][str(size)] = {
                        "list_page": _measure(client, _list_paths(rng, args.requests)),
                        "api_search": _measure(client, _search_paths(rng, args.requests)),
                    }
            smallest = results["sizes"][str(min(args.sizes))]
            largest = results["sizes"][str(max(args.sizes))]
            for kind in ("list_page", "api_search"):
                ratio = largest[kind]["p95_ms"] / smallest[kind]["p95_ms"]
                results[f"{kind}_p95_ratio_largest_to_smallest"] = round(ratio, 2)
            rss = psutil.Process(process.pid).memory_info().rss
            results["server_rss_mb"] = round(rss / 1024 / 1024, 1)
            results["targets"] = {"p95_ratio_max": 1.5, "server_rss_mb_max": 150}
        finally:
            process.terminate()
            process.wait(timeout=15)
    finally:
        postgres.stop()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
