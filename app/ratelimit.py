"""Rate limits on sign-in, form posts and token-authenticated API writes: 429 and Retry-After.

Uses the `limits` library. Its storage is a setting: memory (one process) by default; a
multi-process deployment points DEVEX_RATE_LIMIT_STORAGE at a shared store (e.g. redis://).
"""

from __future__ import annotations

import hashlib
import math
import time

from fastapi import Request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.errors import TooManyRequests, render_app_error

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self.limits = {
            "sign_in": parse(settings.rate_limit_sign_in),
            "form_post": parse(settings.rate_limit_form_posts),
            "api_write": parse(settings.rate_limit_api_writes),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind, key = _classify(scope)
        if kind is not None:
            limit = self.limits[kind]
            if not self.limiter.hit(limit, kind, key):
                reset_at, _remaining = self.limiter.get_window_stats(limit, kind, key)
                retry_after = max(1, math.ceil(reset_at - time.time()))
                response = await render_app_error(Request(scope), TooManyRequests())
                response.headers["Retry-After"] = str(retry_after)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _classify(scope: Scope) -> tuple[str | None, str]:
    path = str(scope.get("path", ""))
    method = str(scope.get("method", "GET"))
    client = scope.get("client")
    ip = str(client[0]) if client else "unknown"
    if path.startswith(("/auth/github/", "/demo-sign-in")) and (
        method not in SAFE_METHODS or path.startswith("/auth/github/")
    ):
        return "sign_in", ip
    if method in SAFE_METHODS or path.startswith("/webhooks/"):
        return None, ip
    headers = dict(scope.get("headers", []))
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if path.startswith("/api/") and authorization.lower().startswith("bearer "):
        # Per token, never the token itself: a short hash names the bucket.
        return "api_write", hashlib.sha256(authorization.encode()).hexdigest()[:16]
    return "form_post", ip
