"""Packaging helpers: the PyInstaller smoke test (the spec itself is ``build.spec`` at the root)."""
