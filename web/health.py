"""`/healthz`: job counts and open streams; 503 while the server stops."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from progress.errors import ShuttingDown
from progress.flask_adapter import service_of

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    service = service_of()
    if service.stopping:
        raise ShuttingDown("The server is stopping.")
    return jsonify(service.health())
