"""The WSGI app for gunicorn (`wsgi_app = "web.wsgi:app"`); the worker has patched by now."""

import sys

from gunicorn.arbiter import Arbiter

from .app import configure_logging, create_app
from .settings import SettingsError

configure_logging()
try:
    app = create_app()
except SettingsError as error:
    # This exit code makes gunicorn's master stop ("App failed to load."); any other
    # would have it start the worker again, failing the same way, forever.
    print(error, file=sys.stderr)
    sys.exit(Arbiter.APP_LOAD_ERROR)
