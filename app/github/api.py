"""POST /webhooks/github: verify, store once, answer 202. Processing happens in a job.

The hottest route of the service. A correctly signed delivery is answered by the fast path
below, ahead of the page middlewares; the route answers everything else (and documents it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.access import SIGNED_WEBHOOK, allow
from app.config import Settings
from app.db import store_once
from app.errors import AppError, NotSignedIn, ServiceUnavailable, render_app_error
from app.github import webhooks
from app.i18n import gettext as _
from app.models import WebhookDelivery
from app.openapi import problems

router = APIRouter(tags=["webhooks"])


PATH = "/webhooks/github"


@router.post(
    PATH,
    status_code=202,
    dependencies=[allow(SIGNED_WEBHOOK)],
    summary="GitHub webhook (signed with the GitHub App's secret, or the fallback's shared secret)",
    responses=problems(422, 503),  # text with NUL characters; the inbox out of reach
)
async def github_webhook(request: Request) -> JSONResponse:
    body = await request.body()  # the exact bytes GitHub signed
    delivery = _Delivery.read(request.headers, body, request.app.state.settings)
    if not delivery.signed:
        raise NotSignedIn(_("The webhook signature is missing or wrong."))
    if not delivery.complete:
        return JSONResponse(
            {"status": "ignored", "reason": "no delivery id or event"}, status_code=202
        )
    return await delivery.store(request.app.state)


@dataclass(frozen=True)
class _Delivery:
    signed: bool
    delivery_id: str
    event: str
    body: bytes

    @classmethod
    def read(cls, headers: Mapping[str, str], body: bytes, settings: Settings) -> _Delivery:
        signature = headers.get("x-hub-signature-256")
        return cls(
            signed=webhooks.signature_is_valid(webhooks.webhook_secret(settings), body, signature),
            delivery_id=headers.get("x-github-delivery", "").strip()[:100],
            event=headers.get("x-github-event", "").strip()[:50],
            body=body,
        )

    @property
    def complete(self) -> bool:
        return bool(self.delivery_id and self.event)

    async def store(self, state: Any) -> JSONResponse:
        values = webhooks.delivery_values(self.delivery_id, self.event, self.body)
        new = await store_once(state, WebhookDelivery, "delivery_id", values)
        return JSONResponse({"status": "queued" if new else "duplicate"}, status_code=202)


class GitHubWebhookFastPath:
    """A correctly signed delivery is stored and acknowledged right here, before the page
    middlewares (locale, rate limit, CSRF) and the framework's routing and dependency
    machinery, none of which a signed machine-to-machine call needs; bench/webhooks.py
    measures why. Anything else (a bad signature, a body the inbox refuses, another route)
    goes down the normal stack, which answers exactly as the route above documents."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        delivery = _Delivery.read(request.headers, body, self.state.settings)
        response: Response | None = None
        if delivery.signed and delivery.complete:
            try:
                response = await delivery.store(self.state)
            except ServiceUnavailable as exc:  # answered here: the route would wait once more
                response = await render_app_error(request, exc)
            except AppError:  # e.g. text with NUL characters: the route renders the problem
                response = None
        if response is None:
            await self.app(scope, _replay(body), send)
            return
        await response(scope, receive, send)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
