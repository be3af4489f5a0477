"""Tickets: a user's problem with screenshots, resolved by the knowledge base and an AI model, or by an agent."""
