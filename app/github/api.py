"""POST /webhooks/github: verify, store once, answer 202. Processing happens in a job.

The hottest route of the service: it runs on the event loop and makes one thread hop, for the
insert; no session cookie, no user, no other dependency.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.access import SIGNED_WEBHOOK, allow
from app.config import Settings
from app.errors import NotSignedIn
from app.github import webhooks
from app.i18n import gettext as _

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks/github",
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

    def store() -> bool:
        with request.app.state.session_factory() as session:
            new = webhooks.store_delivery(session, delivery_id, event, body)
            session.commit()
            return new

    new = await run_in_threadpool(store)
    return JSONResponse({"status": "queued" if new else "duplicate"}, status_code=202)
