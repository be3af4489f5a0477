"""Accounts: registration, verification, sign-in sessions, profile, password reset, roles."""
