"""Widgets only: thin views bound to presenters."""
