"""Blueprints only declare routes: the extension installs the kinds' settings and the upload
rate, `create_app` the cleanup schedule and the metrics, so registering a blueprint changes
nothing else (issue #12)."""

from flask import Flask

from progress.flask_adapter.extension import api, assets
from progress.kinds import environment
from web.health import health
from web.metrics import metrics
from web.pages import pages


def test_registering_every_blueprint_on_a_bare_app_needs_no_service_and_installs_nothing(monkeypatch):
    installed = []
    monkeypatch.setattr(environment, "install", lambda *args: installed.append(args))
    app = Flask(__name__)  # no ProgressExtension: a blueprint reaching for the service would fail here
    app.register_blueprint(api, url_prefix="/api")
    app.register_blueprint(assets, url_prefix="/progress")
    for blueprint in (health, metrics, pages):
        app.register_blueprint(blueprint)
    assert "/api/uploads" in {rule.rule for rule in app.url_map.iter_rules()}
    assert installed == [] and app.extensions == {}
