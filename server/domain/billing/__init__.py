"""Billing: plans, Stripe subscriptions (Checkout, Customer Portal, webhooks) and per-period AI quotas."""
