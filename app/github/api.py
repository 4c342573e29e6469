"""POST /webhooks/github: verify, store once, answer 202. Processing happens in a job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from app.access import SIGNED_WEBHOOK, allow
from app.deps import AppSettings, DbSession
from app.errors import NotSignedIn
from app.github import webhooks
from app.i18n import gettext as _

router = APIRouter(tags=["webhooks"])


async def raw_body(request: Request) -> bytes:
    """The exact bytes GitHub signed (parsing first would change them)."""
    return await request.body()


@router.post(
    "/webhooks/github",
    status_code=202,
    dependencies=[allow(SIGNED_WEBHOOK)],
    summary="GitHub webhook (signed with the shared secret)",
)
def github_webhook(
    request: Request,
    settings: AppSettings,
    db: DbSession,
    body: Annotated[bytes, Depends(raw_body)],
) -> JSONResponse:
    signature = request.headers.get("x-hub-signature-256")
    if not webhooks.signature_is_valid(settings.github_webhook_secret, body, signature):
        raise NotSignedIn(_("The webhook signature is missing or wrong."))
    delivery_id = request.headers.get("x-github-delivery", "").strip()[:100]
    event = request.headers.get("x-github-event", "").strip()[:50]
    if not delivery_id or not event:
        return JSONResponse(
            {"status": "ignored", "reason": "no delivery id or event"}, status_code=202
        )
    new = webhooks.store_delivery(db, delivery_id, event, body)
    db.commit()
    return JSONResponse({"status": "queued" if new else "duplicate"}, status_code=202)
