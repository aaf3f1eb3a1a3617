"""The ``mirimager`` command line."""

from imager.cli.main import main

__all__ = ["main"]
