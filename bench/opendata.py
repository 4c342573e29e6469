"""Open-data downloads at 1k, 10k and 100k opportunities on PostgreSQL.

Prints JSON: for the opportunities dataset as CSV and as JSON at each size, the time to the
first byte, the time to the last, the bytes and rows received, and the serving process's
resident memory at its highest during the download (sampled every 10 ms). The files are
streamed from the database in batches, so memory should stay flat as the rows grow while the
time grows with them. Run with `python -m bench.opendata [--sizes 1000 10000 100000]`.

The rows are the listing benchmark's (bench/listing.py): published in order, with skills; they
carry no state history, so the history column is empty.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from typing import Any

import httpx2
import psutil

from app import migrations
from bench.listing import load_to, start_server
from tests.support.postgres import PostgresServer

FILES = ("/opendata/opportunities.csv", "/opendata/opportunities.json")


class PeakMemory:
    """The highest resident memory of a process while the block runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(0.01)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _download(client: httpx2.Client, path: str, pid: int) -> dict[str, Any]:
    started = time.perf_counter()
    first_byte = None
    received = 0
    newlines = 0
    with PeakMemory(pid) as memory, client.stream("GET", path) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            first_byte = first_byte or time.perf_counter()
            received += len(chunk)
            newlines += chunk.count(b"\n")
    return {
        "first_byte_ms": round(((first_byte or time.perf_counter()) - started) * 1000, 1),
        "total_ms": round((time.perf_counter() - started) * 1000, 1),
        "bytes": received,
        "lines": newlines,
        "server_peak_rss_mb": round(memory.peak / 1024 / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    rng = random.Random(20261202)
    postgres = PostgresServer()
    postgres.start()
    results: dict[str, Any] = {"sizes": {}}
    try:
        url = postgres.create_database("devex_bench_opendata")
        migrations.upgrade(url)
        process, base = start_server(url)
        try:
            with httpx2.Client(base_url=base, timeout=600) as client:
                for size in sorted(args.sizes):
                    load_to(url, size, rng)
                    _download(client, FILES[0], process.pid)  # warm-up
                    results["sizes"][str(size)] = {
                        path: _download(client, path, process.pid) for path in FILES
                    }
        finally:
            process.terminate()
            process.wait(timeout=15)
    finally:
        postgres.stop()
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
