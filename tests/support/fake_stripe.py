"""A local Stripe-compatible server, served over HTTP, so the official stripe SDK runs for real
in tests: form-encoded requests, idempotency keys, Connect accounts, Checkout, transfers,
refunds; and signed webhook events, built the way Stripe builds them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx2
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

WEBHOOK_SECRET = "whsec_test_secret"
# The Connect endpoint's: Stripe signs the connected accounts' events with a secret of their own.
CONNECT_WEBHOOK_SECRET = "whsec_test_connect_secret"
SECRET_KEY = "sk_test_fake"


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding ('a[b][0][c]=x') back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    nested: dict[str, Any] = _lists(root)
    return nested


def _lists(node: Any) -> Any:
    """{'0': x, '1': y} → [x, y], as Stripe reads indexed keys."""
    if isinstance(node, dict):
        converted = {k: _lists(v) for k, v in node.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return node


@dataclass
class FakeStripe:
    url: str = ""
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every POST /v1/transfers that reached the server, replays included.
    transfer_requests: list[dict[str, Any]] = field(default_factory=list)
    refund_requests: list[dict[str, Any]] = field(default_factory=list)
    idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # Failure injection: answer the next N transfer requests with a 500 and do nothing.
    fail_transfers: int = 0
    # The crash matrix kills the calling worker from here: "before" the transfer exists (the
    # request is then dropped), or "after" it exists but before the answer leaves.
    crash_at: str | None = None
    crash: Callable[[], None] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        for store in (
            self.accounts,
            self.sessions,
            self.intents,
            self.charges,
            self.transfers,
            self.refunds,
            self.idempotent,
        ):
            store.clear()
        self.transfer_requests.clear()
        self.refund_requests.clear()
        self.fail_transfers = 0
        self.crash_at = None
        self.crash = None

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    # --- what happens on Stripe's side, outside our API calls ----------------------------

    def enable_payouts(self, account_id: str) -> dict[str, Any]:
        self.accounts[account_id]["payouts_enabled"] = True
        return self.event("account.updated", self.accounts[account_id], account=account_id)

    def checkout_amount(self, session_id: str) -> int:
        """What the team is asked to pay on this checkout, in cents."""
        return int(self.sessions[session_id]["line_items"][0]["price_data"]["unit_amount"])

    def complete_checkout(self, session_id: str) -> list[dict[str, Any]]:
        """The team paid: the events Stripe sends, in the order it usually sends them."""
        session = self.sessions[session_id]
        intent_data = session.get("payment_intent_data") or {}
        amount = self.checkout_amount(session_id)
        intent_id, charge_id = self._id("pi"), self._id("ch")
        common = {
            "metadata": intent_data.get("metadata") or {},
            "transfer_group": intent_data.get("transfer_group"),
            "amount": amount,
            "currency": session["line_items"][0]["price_data"]["currency"],
        }
        charge = {"id": charge_id, "object": "charge", "payment_intent": intent_id, **common}
        charge.update({"refunded": False, "refunds": {"object": "list", "data": []}})
        intent = {"id": intent_id, "object": "payment_intent", "status": "succeeded"}
        intent.update({"latest_charge": charge_id, **common})
        self.charges[charge_id] = charge
        self.intents[intent_id] = intent
        session.update(
            {"payment_status": "paid", "status": "complete", "payment_intent": intent_id}
        )
        return [
            self.event("charge.succeeded", charge),
            self.event("payment_intent.succeeded", intent),
            self.event("checkout.session.completed", session),
        ]

    def event(
        self,
        event_type: str,
        obj: dict[str, Any],
        *,
        livemode: bool = False,
        account: str | None = None,
    ) -> dict[str, Any]:
        """An event of the platform's account, or of a connected ``account`` (which Stripe
        sends only to a Connect endpoint)."""
        return {
            "id": self._id("evt"),
            "object": "event",
            "type": event_type,
            "livemode": livemode,
            "created": int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
            **({"account": account} if account else {}),
        }

    def dispute(self, charge_id: str, status: str) -> dict[str, Any]:
        """The card holder disputes the team's charge (status "needs_response"), or the dispute
        closes ("won" or "lost"); returns the event Stripe sends."""
        charge = self.charges[charge_id]
        charge["disputed"] = status not in ("won", "lost")
        dispute = {
            "id": f"dp_{charge_id}",
            "object": "dispute",
            "charge": charge_id,
            "payment_intent": charge["payment_intent"],
            "amount": charge["amount"],
            "status": status,
        }
        kind = "created" if status == "needs_response" else "closed"
        return self.event(f"charge.dispute.{kind}", dispute)

    def transfer_events(self) -> list[dict[str, Any]]:
        return [self.event("transfer.created", t) for t in self.transfers.values()]

    # --- the HTTP side ---------------------------------------------------------------------

    def asgi(self) -> FastAPI:
        app = FastAPI()

        def error(status: int, message: str) -> JSONResponse:
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": message}},
                status_code=status,
            )

        async def form(request: Request) -> dict[str, Any]:
            return _nest(parse_qsl((await request.body()).decode(), keep_blank_values=True))

        def replay(request: Request, kind: str) -> JSONResponse | None:
            key = request.headers.get("idempotency-key")
            if key and (kind, key) in self.idempotent:
                status, body = self.idempotent[(kind, key)]
                return JSONResponse(body, status_code=status)
            return None

        def remember(request: Request, kind: str, body: dict[str, Any]) -> JSONResponse:
            key = request.headers.get("idempotency-key")
            if key:
                self.idempotent[(kind, key)] = (200, body)
            return JSONResponse(body)

        @app.post("/v1/accounts")
        async def create_account(request: Request) -> JSONResponse:
            with self._lock:
                if (found := replay(request, "account")) is not None:
                    return found
                params = await form(request)
                account_id = self._id("acct")
                account: dict[str, Any] = {
                    "id": account_id,
                    "object": "account",
                    "type": params.get("type"),
                    "payouts_enabled": False,
                    "metadata": params.get("metadata") or {},
                }
                self.accounts[account_id] = account
                return remember(request, "account", account)

        @app.get("/v1/accounts/{account_id}")
        def get_account(account_id: str) -> JSONResponse:
            found = self.accounts.get(account_id)
            return JSONResponse(found) if found else error(404, "No such account")

        @app.post("/v1/account_links")
        async def account_link(request: Request) -> JSONResponse:
            params = await form(request)
            if params.get("account") not in self.accounts:
                return error(400, "No such account")
            url = f"{self.url}/connect/onboarding/{params['account']}"
            return JSONResponse({"object": "account_link", "url": url})

        @app.post("/v1/checkout/sessions")
        async def create_session(request: Request) -> JSONResponse:
            params = await form(request)
            session_id = self._id("cs")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "url": f"{self.url}/pay/{session_id}",
                "payment_status": "unpaid",
                "status": "open",
                "payment_intent": None,
                **params,
            }
            self.sessions[session_id] = session
            return JSONResponse(session)

        @app.get("/v1/checkout/sessions/{session_id}")
        def get_session(session_id: str, request: Request) -> JSONResponse:
            found = self.sessions.get(session_id)
            if found is None:
                return error(404, "No such checkout session")
            body = dict(found)
            expand = [v for k, v in request.query_params.multi_items() if k.startswith("expand")]
            if "payment_intent" in expand and body.get("payment_intent"):
                body["payment_intent"] = self.intents[body["payment_intent"]]
            return JSONResponse(body)

        @app.get("/v1/payment_intents/{intent_id}")
        def get_intent(intent_id: str) -> JSONResponse:
            found = self.intents.get(intent_id)
            return JSONResponse(found) if found else error(404, "No such payment intent")

        @app.post("/v1/transfers")
        async def create_transfer(request: Request) -> JSONResponse:
            params = await form(request)
            self.transfer_requests.append(params)
            with self._lock:
                if self.fail_transfers > 0:
                    self.fail_transfers -= 1
                    return error(500, "Something went wrong on Stripe's end")
                if self.crash_at == "before" and self.crash:
                    self.crash()
                    return error(500, "the caller is gone")
                if (found := replay(request, "transfer")) is not None:
                    return found
                charge = self.charges.get(params.get("source_transaction", ""))
                account = self.accounts.get(params.get("destination", ""))
                if charge is None:
                    return error(400, "No such charge: source_transaction")
                if account is None or not account["payouts_enabled"]:
                    return error(400, "The destination account cannot receive transfers")
                available = int(charge["amount"]) - int(charge.get("amount_refunded") or 0)
                if int(params["amount"]) > available:
                    return error(400, "Amount exceeds the source transaction")
                transfer = {
                    "id": self._id("tr"),
                    "object": "transfer",
                    "amount": int(params["amount"]),
                    "currency": params["currency"],
                    "destination": params["destination"],
                    "source_transaction": params["source_transaction"],
                    "transfer_group": params.get("transfer_group"),
                    "metadata": params.get("metadata") or {},
                    "reversed": False,
                }
                self.transfers[transfer["id"]] = transfer
                response = remember(request, "transfer", transfer)
                if self.crash_at == "after" and self.crash:
                    self.crash()
                return response

        @app.get("/v1/transfers")
        def list_transfers(request: Request) -> JSONResponse:
            group = request.query_params.get("transfer_group")
            data = [t for t in self.transfers.values() if group in (None, t["transfer_group"])]
            return JSONResponse(
                {"object": "list", "data": data, "has_more": False, "url": "/v1/transfers"}
            )

        @app.post("/v1/refunds")
        async def create_refund(request: Request) -> JSONResponse:
            with self._lock:
                if (found := replay(request, "refund")) is not None:
                    return found
                params = await form(request)
                self.refund_requests.append(params)
                intent = self.intents.get(params.get("payment_intent", ""))
                if intent is None:
                    return error(400, "No such payment_intent")
                charge = self.charges[intent["latest_charge"]]
                if charge["refunded"]:
                    return error(400, "Charge has already been refunded")
                if charge.get("disputed"):
                    return error(400, f"Charge {charge['id']} has been charged back")
                # As Stripe does: a partial refund (an amount), the rest by default; a charge
                # is refunded once nothing of it is left.
                remaining = int(charge["amount"]) - int(charge.get("amount_refunded") or 0)
                amount = int(params.get("amount") or remaining)
                if amount > remaining:
                    return error(400, "Refund amount is greater than the unrefunded amount")
                refund = {
                    "id": self._id("re"),
                    "object": "refund",
                    "status": "succeeded",
                    "amount": amount,
                    "charge": charge["id"],
                    "payment_intent": intent["id"],
                    "metadata": params.get("metadata") or {},
                }
                charge["amount_refunded"] = int(charge.get("amount_refunded") or 0) + amount
                charge["refunded"] = charge["amount_refunded"] == int(charge["amount"])
                charge["refunds"]["data"].append(refund)
                self.refunds[refund["id"]] = refund
                return remember(request, "refund", refund)

        return app


def signature_header(
    payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    """Stripe's scheme: v1 = HMAC-SHA256 of '<timestamp>.<payload>' with the endpoint secret."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{stamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def deliver(
    http: httpx2.Client | Any,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    endpoint: str = "/webhooks/stripe",
) -> Any:
    """Posts one event to one of our Stripe endpoints as Stripe would (any client with .post)."""
    payload = json.dumps(event).encode()
    return http.post(
        endpoint,
        content=payload,
        headers={
            "stripe-signature": signature_header(payload, secret),
            "content-type": "application/json",
        },
    )
