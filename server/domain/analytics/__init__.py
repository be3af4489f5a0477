"""Anonymized usage analytics: the desktop's events, stored without account or address, and their summary."""
