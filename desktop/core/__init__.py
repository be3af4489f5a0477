"""Pure-Python domain logic of the desktop app: no Qt, no I/O."""
