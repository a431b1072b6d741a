"""The only package of `progress` that imports Flask: the extension, its routes and the SSE response.

    from progress.flask_adapter import ProgressExtension
    ProgressExtension(app, url_prefix="/progress", owner_of_request=lambda request: ...)

serves the JSON API and both streams under `/progress/api` (the standalone app in `web/`
mounts it at the empty prefix). Views read the request, then hand plain values to the
service; nothing below them knows Flask.
"""

from .errors import ApiError, error_response, json_error
from .extension import ProgressExtension
from .owners import current_owner, open_access, request_owner
from .responses import json_response, sse_response
from .state import OwnerOfRequest, service_of

__all__ = ["ApiError", "OwnerOfRequest", "ProgressExtension", "current_owner", "error_response", "json_error",
           "json_response", "open_access", "request_owner", "service_of", "sse_response"]
