"""Tech Pal's desktop client: the PySide6 tray app."""
