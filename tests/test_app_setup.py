"""Blueprints only declare routes: `create_app` installs the kinds' settings, the cleanup
schedule and the metrics, so registering a blueprint changes nothing else (issue #12)."""

import pytest
from flask import Flask

from progress.kinds import environment
from web.api import api
from web.health import health
from web.metrics import metrics
from web.pages import pages
from web.streams import streams
from web.uploads import uploads


def test_registering_every_blueprint_on_a_bare_app_needs_no_service_and_installs_nothing():
    app = Flask(__name__)  # no ProgressExtension: a blueprint reaching for the service would fail here
    for blueprint in (api, uploads, streams, health, metrics, pages):
        app.register_blueprint(blueprint)
    assert "/api/uploads" in {rule.rule for rule in app.url_map.iter_rules()}
    with pytest.raises(RuntimeError, match="no kinds settings installed"):
        environment.config()
