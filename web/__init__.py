"""The Flask app over `progress`: `web.create_app(settings)` builds it.

Nothing is imported here until used (PEP 562): `python -m web` imports this package
before `__main__` monkey-patches, and `gunicorn.conf.py` imports `web.settings` in
gunicorn's master, which must stay free of gevent and Flask.
"""

from typing import Any

__all__ = ["configure_logging", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app
        return getattr(app, name)
    raise AttributeError(f"module 'web' has no attribute {name!r}")
