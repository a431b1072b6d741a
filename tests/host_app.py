"""A Flask app of someone else's for the extension's tests (issue 16): its own login stand-in,
its own HTML error pages, and the product mounted under `/progress`."""

import os

from flask import Flask, Request

import progress.kinds  # noqa: F401  (the shipped kinds register themselves: sleep, greet, ...)
from progress.access import Owner
from progress.flask_adapter import ProgressExtension
from progress.kinds.environment import KindsConfig
from progress.service import ServiceOptions

USER_HEADER = "X-Host-User"
"""The host's login stand-in: a header naming the signed-in user (a real app: Flask-Login)."""


def owner_of_request(request: Request) -> Owner | None:
    name = request.headers.get(USER_HEADER)
    return Owner(name) if name else None


def create_host_app(data_dir: str | None = None) -> Flask:
    """gunicorn calls it (`tests.host_app:create_host_app()`), with `DATA_DIR` set by the tests."""
    data_dir = data_dir or os.environ["DATA_DIR"]
    app = Flask(__name__)
    ProgressExtension(app, url_prefix="/progress", owner_of_request=owner_of_request,
                      options=ServiceOptions(heartbeat_s=1, retry_ms=500, results_dir=os.path.join(data_dir, "results")),
                      kinds_config=KindsConfig(data_dir=data_dir))

    @app.get("/")
    def home() -> str:
        return "<h1>The host's home page</h1>"

    @app.errorhandler(404)
    def host_not_found(error: Exception) -> tuple[str, int]:
        return "<h1>The host's own 404 page</h1>", 404

    @app.errorhandler(405)
    def host_wrong_method(error: Exception) -> tuple[str, int]:
        return "<h1>The host's own 405 page</h1>", 405

    @app.errorhandler(Exception)
    def host_broken(error: Exception) -> tuple[str, int]:
        return "<h1>The host's own 500 page</h1>", 500

    return app
