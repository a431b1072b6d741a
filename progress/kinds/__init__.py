"""The kinds every build has; importing this package registers them in `default_registry`."""

from . import greet, sleep

__all__ = ["greet", "sleep"]
