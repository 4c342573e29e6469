"""The baseline for bench/webhooks.py: a bare ASGI endpoint that only checks the signature and
inserts a row. Run by the benchmark as `uvicorn bench.bare_webhook:app`.

Its database side is ours exactly (app.db.PostgresInbox): the same pool shape and one
autocommit INSERT … ON CONFLICT DO NOTHING RETURNING id, a single round trip. It once ran
BEGIN/INSERT/COMMIT, three round trips, which made our endpoint look faster next to it."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import psycopg_pool

SECRET = os.environ["BENCH_WEBHOOK_SECRET"].encode()
BENCH_DSN = os.environ["BENCH_DSN"]
_pool: psycopg_pool.AsyncConnectionPool | None = None


async def _connections() -> psycopg_pool.AsyncConnectionPool:
    global _pool
    if _pool is None:
        _pool = psycopg_pool.AsyncConnectionPool(
            BENCH_DSN, min_size=1, max_size=10, open=False, kwargs={"autocommit": True}
        )
        await _pool.open()
    return _pool


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    given = headers.get(b"x-hub-signature-256", b"").decode()
    if not hmac.compare_digest(expected, given):
        status = 401
    else:
        pool = await _connections()
        async with pool.connection() as connection:
            cursor = await connection.execute(
                "INSERT INTO bare_inbox (delivery_id, body) VALUES (%s, %s) "
                "ON CONFLICT (delivery_id) DO NOTHING RETURNING id",
                (headers.get(b"x-github-delivery", b"").decode(), body.decode()),
            )
            await cursor.fetchone()
        status = 202
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"status":"queued"}'})
