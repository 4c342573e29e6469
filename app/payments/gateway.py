"""The payment gateway: Stripe Connect through the official SDK, or a clearly marked simulated
gateway for local runs without Stripe keys. Both answer the same few questions.

Separate charges and transfers: the team's payment lands on the platform (held funds), and
the release is a transfer to the developer's connected account drawing on that charge
(``source_transaction``), grouped per opportunity (``transfer_group``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import stripe
from typing_extensions import override

from app.config import Settings
from app.models.payment import opportunity_in_group

# The refund metadata key that marks the part of a payment given back on a cheaper re-award.
ADJUSTMENT_METADATA = "adjustment_id"


class GatewayError(Exception):
    """The gateway could not be reached or refused; the step is retried later."""


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str


@dataclass(frozen=True)
class Funding:
    """What the gateway says about a team's payment."""

    paid: bool
    payment_intent_id: str = ""
    charge_id: str = ""


@dataclass(frozen=True)
class TransferRequest:
    amount_cents: int
    currency: str
    destination: str
    source_transaction: str
    transfer_group: str
    idempotency_key: str
    payout_id: int
    share_id: int  # the PayoutTransfer row: one share of the payout


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    reversed: bool = False
    # Whose it is, from the metadata we attach; a transfer made before payouts had shares
    # names its payout only.
    payout_id: int | None = None
    share_id: int | None = None

    @classmethod
    def of(cls, found: dict[str, Any]) -> Transfer:
        """A Stripe transfer object (or event payload) as we read it."""
        metadata = found.get("metadata") or {}
        return cls(
            str(found["id"]),
            bool(found.get("reversed")),
            _number(metadata.get("payout_id")),
            _number(metadata.get("payout_transfer_id")),
        )


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


class Gateway(Protocol):
    simulated: bool

    def create_account(self, user_id: int, email: str | None) -> str: ...

    def onboarding_link(self, account_id: str, return_url: str, refresh_url: str) -> str: ...

    def payouts_enabled(self, account_id: str) -> bool: ...

    def create_checkout(
        self,
        *,
        payout_id: int,
        amount_cents: int,
        currency: str,
        description: str,
        transfer_group: str,
        success_url: str,
        cancel_url: str,
    ) -> Checkout: ...

    def funding(self, checkout_session_id: str) -> Funding: ...

    def transfers_in(self, transfer_group: str) -> list[Transfer]: ...

    def create_transfer(self, request: TransferRequest) -> Transfer: ...

    def refund(
        self,
        payment_intent_id: str,
        idempotency_key: str,
        *,
        amount_cents: int | None = None,
        adjustment_id: int | None = None,
    ) -> str:
        """A refund of the whole payment, or of ``amount_cents`` of it; ``adjustment_id`` marks
        the part given back when the contract moved to a cheaper proposal, so that its events
        are not taken for the refund of the whole payout."""
        ...


class StripeGateway(Gateway):
    simulated = False

    def __init__(self, settings: Settings) -> None:
        self._client = stripe.StripeClient(
            settings.stripe_secret_key.get_secret_value(),
            # Only when set: an "api" key of None would replace the SDK's default address.
            base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
            max_network_retries=2,
        )
        self._country = settings.stripe_connect_country

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except stripe.StripeError as exc:
            # The SDK's message, never the request: it holds no key or card data.
            raise GatewayError(f"{type(exc).__name__}: {exc.user_message or exc.code}") from exc

    def create_account(self, user_id: int, email: str | None) -> str:
        params: dict[str, Any] = {
            "type": "express",
            "country": self._country,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"user_id": str(user_id)},
        }
        if email:
            params["email"] = email
        account = self._call(
            self._client.v1.accounts.create,
            params=params,
            options={"idempotency_key": f"payout-account-user-{user_id}"},
        )
        return str(account.id)

    def onboarding_link(self, account_id: str, return_url: str, refresh_url: str) -> str:
        link = self._call(
            self._client.v1.account_links.create,
            params={
                "account": account_id,
                "return_url": return_url,
                "refresh_url": refresh_url,
                "type": "account_onboarding",
            },
        )
        return str(link.url)

    def payouts_enabled(self, account_id: str) -> bool:
        account = self._call(self._client.v1.accounts.retrieve, account_id)
        return bool(account.payouts_enabled)

    def create_checkout(
        self,
        *,
        payout_id: int,
        amount_cents: int,
        currency: str,
        description: str,
        transfer_group: str,
        success_url: str,
        cancel_url: str,
    ) -> Checkout:
        metadata = {"payout_id": str(payout_id)}
        session = self._call(
            self._client.v1.checkout.sessions.create,
            params={
                "mode": "payment",
                "client_reference_id": str(payout_id),
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": currency.lower(),
                            "unit_amount": amount_cents,
                            "product_data": {"name": description[:250]},
                        },
                    }
                ],
                "payment_intent_data": {"transfer_group": transfer_group, "metadata": metadata},
                "metadata": metadata,
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
        )
        return Checkout(str(session.id), str(session.url))

    def funding(self, checkout_session_id: str) -> Funding:
        session = self._call(
            self._client.v1.checkout.sessions.retrieve,
            checkout_session_id,
            params={"expand": ["payment_intent"]},
        )
        intent = session.payment_intent
        if session.payment_status != "paid" or intent is None:
            return Funding(paid=False)
        if isinstance(intent, str):
            intent = self._call(self._client.v1.payment_intents.retrieve, intent)
        return Funding(True, str(intent.id), str(intent.latest_charge or ""))

    def transfers_in(self, transfer_group: str) -> list[Transfer]:
        """Every transfer of the group (one opportunity: at most one per share, ten shares)."""
        page = self._call(
            self._client.v1.transfers.list, params={"transfer_group": transfer_group, "limit": 100}
        )
        return [Transfer.of(transfer.to_dict()) for transfer in page.data]

    def create_transfer(self, request: TransferRequest) -> Transfer:
        transfer = self._call(
            self._client.v1.transfers.create,
            params={
                "amount": request.amount_cents,
                "currency": request.currency.lower(),
                "destination": request.destination,
                "source_transaction": request.source_transaction,
                "transfer_group": request.transfer_group,
                "metadata": {
                    "payout_id": str(request.payout_id),
                    "payout_transfer_id": str(request.share_id),
                },
            },
            options={"idempotency_key": request.idempotency_key},
        )
        return Transfer.of(transfer.to_dict())

    def refund(
        self,
        payment_intent_id: str,
        idempotency_key: str,
        *,
        amount_cents: int | None = None,
        adjustment_id: int | None = None,
    ) -> str:
        params: dict[str, Any] = {"payment_intent": payment_intent_id}
        if amount_cents is not None:
            params["amount"] = amount_cents
        if adjustment_id is not None:
            params["metadata"] = {ADJUSTMENT_METADATA: str(adjustment_id)}
        refund = self._call(
            self._client.v1.refunds.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return str(refund.id)


class SimulatedGateway(Gateway):
    """Local runs without Stripe keys: no money moves, and every page says so. Ids are derived
    from ours, so the simulated flow is as idempotent as the real one."""

    simulated = True

    def __init__(self, settings: Settings) -> None:
        self._base_url = settings.base_url

    @override
    def create_account(self, user_id: int, email: str | None) -> str:
        return f"sim_acct_{user_id}"

    @override
    def onboarding_link(self, account_id: str, return_url: str, refresh_url: str) -> str:
        return return_url

    @override
    def payouts_enabled(self, account_id: str) -> bool:
        return True

    @override
    def create_checkout(
        self,
        *,
        payout_id: int,
        amount_cents: int,
        currency: str,
        description: str,
        transfer_group: str,
        success_url: str,
        cancel_url: str,
    ) -> Checkout:
        # The local "checkout" is a page of ours, beside the opportunity's funding page.
        opportunity_id = opportunity_in_group(transfer_group)
        return Checkout(
            f"sim_cs_{payout_id}",
            f"{self._base_url}/opportunities/{opportunity_id}/funding/simulated-checkout",
        )

    @override
    def funding(self, checkout_session_id: str) -> Funding:
        payout_id = checkout_session_id.removeprefix("sim_cs_")
        return Funding(True, f"sim_pi_{payout_id}", f"sim_ch_{payout_id}")

    @override
    def transfers_in(self, transfer_group: str) -> list[Transfer]:
        return []

    @override
    def create_transfer(self, request: TransferRequest) -> Transfer:
        return Transfer(f"sim_tr_{request.share_id}", False, request.payout_id, request.share_id)

    @override
    def refund(
        self,
        payment_intent_id: str,
        idempotency_key: str,
        *,
        amount_cents: int | None = None,
        adjustment_id: int | None = None,
    ) -> str:
        if adjustment_id is not None:
            return f"sim_re_adj_{adjustment_id}"
        part = "" if amount_cents is None else "_part"
        return f"sim_re{part}_{payment_intent_id.removeprefix('sim_pi_')}"


def gateway_for(settings: Settings) -> Gateway:
    return SimulatedGateway(settings) if settings.payments_simulated else StripeGateway(settings)
