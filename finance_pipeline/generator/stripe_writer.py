"""Stripe API list responses, as the pipeline's HTTP source would save them.

Objects keep Stripe's documented shape: ids with their prefixes, integer minor-unit amounts,
lower-case currencies, ``created`` in epoch seconds, ``metadata`` as the merchant set it.
Lists are newest first, as the API returns them.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from finance_pipeline.generator.dates import epoch_seconds
from finance_pipeline.generator.model import BalanceTxn, Charge, Payout, Refund, World


def _list(url: str, data: list[dict[str, Any]]) -> str:
    body = {"object": "list", "url": url, "has_more": False, "data": data}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def _newest_first(objects: list[Any]) -> list[Any]:
    return sorted(objects, key=lambda o: (-o.created, o.id))


def _charge(charge: Charge) -> dict[str, Any]:
    return {
        "id": charge.id,
        "object": "charge",
        "amount": charge.amount,
        "amount_captured": charge.amount,
        "amount_refunded": 0,
        "balance_transaction": charge.balance_transaction,
        "billing_details": {
            "address": None,
            "email": None,
            "name": charge.billing_name,
            "phone": None,
        },
        "captured": True,
        "created": charge.created,
        "currency": charge.currency,
        "customer": charge.customer,
        "description": f"Invoice {charge.invoice_number}",
        "disputed": False,
        "livemode": False,
        "metadata": {"customer_id": charge.customer_id, "invoice_number": charge.invoice_number},
        "outcome": {
            "network_status": "approved_by_network",
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": charge.payment_intent,
        "payment_method": charge.payment_method,
        "payment_method_details": {
            "card": {
                "brand": charge.card_brand,
                "country": "US",
                "exp_month": 12,
                "exp_year": charge.created_date.year + 3,
                "funding": "credit",
                "last4": charge.card_last4,
            },
            "type": "card",
        },
        "refunded": False,
        "status": "succeeded",
    }


def _refund(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "balance_transaction": refund.balance_transaction,
        "charge": refund.charge_id,
        "created": refund.created,
        "currency": refund.currency,
        "metadata": {"invoice_number": refund.invoice_number},
        "payment_intent": refund.payment_intent,
        "reason": "requested_by_customer",
        "status": "succeeded",
    }


def _payout(payout: Payout) -> dict[str, Any]:
    return {
        "id": payout.id,
        "object": "payout",
        "amount": payout.amount,
        "arrival_date": epoch_seconds(payout.arrival_date, 0, 0),
        "automatic": True,
        "balance_transaction": payout.balance_transaction,
        "created": payout.created,
        "currency": payout.currency,
        "description": "STRIPE PAYOUT",
        "destination": payout.destination,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "source_type": "card",
        "statement_descriptor": payout.statement_descriptor,
        "status": "in_transit",
        "type": "bank",
    }


def _balance_txn(txn: BalanceTxn) -> dict[str, Any]:
    fee_details = []
    if txn.fee:
        fee_details.append(
            {
                "amount": txn.fee,
                "application": None,
                "currency": txn.currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        )
    return {
        "id": txn.id,
        "object": "balance_transaction",
        "amount": txn.amount,
        "available_on": txn.available_on,
        "created": txn.created,
        "currency": txn.currency,
        "description": txn.description,
        "exchange_rate": None,
        "fee": txn.fee,
        "fee_details": fee_details,
        "net": txn.net,
        "reporting_category": txn.reporting_category,
        "source": txn.source,
        "status": txn.status,
        "type": txn.type,
    }


def render_day(world: World, day: date) -> dict[str, str]:
    """File name -> content of every Stripe response saved on ``day``."""
    stamp = f"{day:%Y%m%d}"
    charges = [c for c in world.charges if c.created_date == day]
    refunds = [r for r in world.refunds if r.created_date == day]
    payouts = [p for p in world.payouts if p.created_date == day]
    files = {
        f"charges_{stamp}.json": _list("/v1/charges", [_charge(c) for c in _newest_first(charges)]),
        f"refunds_{stamp}.json": _list("/v1/refunds", [_refund(r) for r in _newest_first(refunds)]),
        f"payouts_{stamp}.json": _list("/v1/payouts", [_payout(p) for p in _newest_first(payouts)]),
    }
    for payout in payouts:
        txns = [t for t in world.balance_txns if t.payout_id == payout.id]
        files[f"balance_transactions_{payout.id}_{stamp}.json"] = _list(
            f"/v1/balance_transactions?payout={payout.id}",
            [_balance_txn(t) for t in _newest_first(txns)],
        )
    return files
