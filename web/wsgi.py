"""The WSGI app for gunicorn (`wsgi_app = "web.wsgi:app"`); the worker has patched by now."""

import sys

from .app import configure_logging, create_app
from .settings import SettingsError

configure_logging()
try:
    app = create_app()
except SettingsError as error:
    sys.exit(str(error))
