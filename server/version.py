"""The server's version, read from the installed project metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("techpal")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
