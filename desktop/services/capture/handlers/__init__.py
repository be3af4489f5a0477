"""Capture back-ends; each says whether it works here and grabs one monitor as a Pillow image."""
