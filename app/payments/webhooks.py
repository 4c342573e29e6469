"""Stripe webhooks: the signature (with its timestamp tolerance) and the event inbox.

Pay-on-pull rule 7: the official SDK checks the signature and the timestamp; an event is stored
once, unique on its id, whatever Stripe's retries; a job applies it (in any order).
"""

from __future__ import annotations

import json
from typing import Any

import stripe

TOLERANCE_SECONDS = 300
# Stripe sends the events of the developers' connected accounts only to a Connect endpoint,
# signed with a secret of its own. Of those, a payout needs one: payouts enabled or not, which
# Stripe often decides minutes after the developer has left its onboarding. Anything else
# there (their own payouts, say) is not ours to act on.
CONNECT_EVENTS = frozenset({"account.updated"})


def verified_event(payload: bytes, header: str | None, secret: str) -> dict[str, Any] | None:
    """The event, when the signature is right and recent; None otherwise."""
    if not secret or not header:
        return None
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), header, secret, TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        return None
    return event


def livemode_matches(event: dict[str, Any], secret_key: str) -> bool:
    """A test-mode event must never move live money, nor the reverse."""
    return bool(event.get("livemode")) == secret_key.startswith(("sk_live_", "rk_live_"))


def event_values(event: dict[str, Any]) -> dict[str, Any]:
    obj = (event.get("data") or {}).get("object") or {}
    return {
        "event_id": str(event["id"])[:100],
        "type": str(event.get("type", ""))[:100],
        "payload": obj if isinstance(obj, dict) else {},
    }
