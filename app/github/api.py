"""POST /webhooks/github: verify, store once, answer 202. Processing happens in a job.

The hottest route of the service: it runs on the event loop and makes one thread hop, for the
insert; no session cookie, no user, no other dependency.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.access import SIGNED_WEBHOOK, allow
from app.config import Settings
from app.db import store_once
from app.errors import NotSignedIn
from app.github import webhooks
from app.i18n import gettext as _
from app.models import WebhookDelivery

router = APIRouter(tags=["webhooks"])


PATH = "/webhooks/github"


@router.post(
    PATH,
    status_code=202,
    dependencies=[allow(SIGNED_WEBHOOK)],
    summary="GitHub webhook (signed with the shared secret)",
)
async def github_webhook(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    body = await request.body()  # the exact bytes GitHub signed
    signature = request.headers.get("x-hub-signature-256")
    if not webhooks.signature_is_valid(settings.github_webhook_secret, body, signature):
        raise NotSignedIn(_("The webhook signature is missing or wrong."))
    delivery_id = request.headers.get("x-github-delivery", "").strip()[:100]
    event = request.headers.get("x-github-event", "").strip()[:50]
    if not delivery_id or not event:
        return JSONResponse(
            {"status": "ignored", "reason": "no delivery id or event"}, status_code=202
        )

    new = await _store(request.app.state, delivery_id, event, body)
    return JSONResponse({"status": "queued" if new else "duplicate"}, status_code=202)


async def _store(state: Any, delivery_id: str, event: str, body: bytes) -> bool:
    values = webhooks.delivery_values(delivery_id, event, body)
    return await store_once(state, WebhookDelivery, "delivery_id", values)


class GitHubWebhookFastPath:
    """A correctly signed delivery is stored and acknowledged right here, before the page
    middlewares (locale, rate limit, CSRF) and the framework's routing and dependency
    machinery, none of which a signed machine-to-machine call needs; bench/webhooks.py
    measures why. Anything else (a bad signature, another route) goes down the normal stack,
    which answers exactly as the route above documents."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        headers = Headers(scope=scope)
        delivery_id = headers.get("x-github-delivery", "").strip()[:100]
        event = headers.get("x-github-event", "").strip()[:50]
        secret = self.state.settings.github_webhook_secret
        if not (
            delivery_id
            and event
            and webhooks.signature_is_valid(secret, body, headers.get("x-hub-signature-256"))
        ):
            await self.app(scope, _replay(body), send)
            return
        new = await _store(self.state, delivery_id, event, body)
        response = JSONResponse({"status": "queued" if new else "duplicate"}, status_code=202)
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
