"""Pure-Python heart of the desktop app: no Qt (import-linter enforces it).

Blocking I/O lives only where a module says so (the API client, the settings file, the offline queue); the Qt
layer calls those from worker threads.
"""
