"""Webhook acknowledgement: our POST /webhooks/github next to a bare ASGI endpoint that only
checks the signature and inserts a row, both on PostgreSQL, same machine, concurrency 50.

Prints JSON: requests per second and p50/p99 latency for each, and the ratio (target: ours at
least 0.8 of the bare one). The merge-to-transfer time is reported as null until payouts exist.
Run with `python -m bench.webhooks [--requests N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx2
import psycopg

from app import migrations
from tests.support.postgres import PostgresServer
from tests.support.server import free_port

SECRET = "bench-secret"  # noqa: S105 - a throwaway secret for a local benchmark
CONCURRENCY = 50


def _serve(target: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if target.startswith("app.main"):
        command.append("--factory")
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx2.post(f"{base}/webhooks/github", content=b"{}", timeout=1)
            return process, base
        except httpx2.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not start")


async def _fire(base: str, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)

    async def worker(client: httpx2.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            body = json.dumps({"action": "opened", "number": n, "pad": "x" * 2000}).encode()
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            started = time.perf_counter()
            response = await client.post(
                "/webhooks/github",
                content=body,
                headers={
                    "x-github-delivery": f"bench-{base}-{n}",
                    "x-github-event": "pull_request",
                    "x-hub-signature-256": signature,
                    "content-type": "application/json",
                },
            )
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    limits = httpx2.Limits(max_connections=CONCURRENCY)
    async with httpx2.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests_per_second": round(requests / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    postgres = PostgresServer()
    postgres.start()
    processes = []
    try:
        url = postgres.create_database("devex_bench_webhooks")
        migrations.upgrade(url)
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE bare_inbox (id serial PRIMARY KEY, "
                "delivery_id text UNIQUE NOT NULL, body text NOT NULL)"
            )
        ours, ours_url = _serve(
            "app.main:create_app",
            {
                "DEVEX_DATABASE_URL": url,
                "DEVEX_ENV": "test",
                "DEVEX_GITHUB_WEBHOOK_SECRET": SECRET,
                "DEVEX_LOG_JSON": "true",
            },
        )
        bare, bare_url = _serve(
            "bench.bare_webhook:app", {"BENCH_DSN": dsn, "BENCH_WEBHOOK_SECRET": SECRET}
        )
        processes = [ours, bare]
        asyncio.run(_fire(ours_url, 200))  # warm-up, both
        asyncio.run(_fire(bare_url, 200))
        results = {
            "concurrency": CONCURRENCY,
            "requests": args.requests,
            "ours": asyncio.run(_fire(ours_url, args.requests)),
            "bare": asyncio.run(_fire(bare_url, args.requests)),
        }
        results["throughput_ratio"] = round(
            results["ours"]["requests_per_second"] / results["bare"]["requests_per_second"], 2
        )
        results["target_ratio_min"] = 0.8
        results["merge_to_transfer_p95_ms"] = None  # payouts are not built yet
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
        postgres.stop()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
