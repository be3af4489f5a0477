"""The mails billing sends: a payment confirmation (our privacy policy promises one) and a failed-payment notice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.lib.mail import compose

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = ["payment_failed_mail", "payment_received_mail"]


def _amount(cents: object, currency: object) -> str:
    if not isinstance(cents, int) or isinstance(cents, bool):
        return "your payment"
    return f"{cents / 100:.2f} {str(currency or '').upper()}".strip()


def payment_received_mail(
    sender: str, to: str, name: str, *, plan: str, amount: object, currency: object, invoice_url: object
) -> EmailMessage:
    """Confirms a paid invoice."""
    link = f"\nYour invoice: {invoice_url}\n" if isinstance(invoice_url, str) and invoice_url else ""
    text = (
        f"Hello {name},\n\nThank you: we received {_amount(amount, currency)} for your Tech Pal {plan} plan.\n{link}\n"
        "You can change or cancel your subscription at any time from the Tech Pal app (Account → Subscription).\n"
    )
    return compose(sender, to, "Payment received — Tech Pal", text)


def payment_failed_mail(
    sender: str, to: str, name: str, *, plan: str, amount: object, currency: object, invoice_url: object
) -> EmailMessage:
    """Says a payment failed, what happens next, and how to fix it."""
    link = f"\nPay or update your card here: {invoice_url}\n" if isinstance(invoice_url, str) and invoice_url else ""
    text = (
        f"Hello {name},\n\nWe could not collect {_amount(amount, currency)} for your Tech Pal {plan} plan: "
        "your card was declined or has expired.\n"
        f"{link}\nStripe will try again over the next days. Please update your payment method from the Tech Pal app "
        "(Account → Subscription → Manage). If every attempt fails, your subscription ends and your account returns "
        "to the free plan.\n"
    )
    return compose(sender, to, "Payment failed — action needed for your Tech Pal subscription", text)
