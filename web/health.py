"""`/healthz`: job counts and open streams; 503 while the server stops.

With access control on, a request without credentials learns only the status: how busy
the server is, and so whether others are active, is for its users (issue 15).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from progress.errors import ShuttingDown
from progress.flask_adapter import request_owner, service_of

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    service = service_of()
    if service.stopping:
        raise ShuttingDown("The server is stopping.")
    health = service.health()  # asks the job store: while it is out of reach, 503 `unavailable`
    if request_owner() is None:  # never in open mode, where every client is an owner
        return jsonify(status="ok")
    return jsonify(health)
