"""gunicorn.conf.py as it is, plus a `pre_request` hook that logs each request gunicorn itself
read, so a test can tell which requests the front door served before gunicorn saw them."""

import os
import runpy

globals().update({name: value for name, value in
                  runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "gunicorn.conf.py")).items()
                  if not name.startswith("__")})


def pre_request(worker, req):
    worker.log.info("gunicorn read %s %s", req.method, req.path)
