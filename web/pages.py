"""Pages for people: the dashboard and one job's page."""

from __future__ import annotations

from flask import Blueprint, render_template

from progress.flask_adapter import service_of

pages = Blueprint("pages", __name__)


@pages.get("/")
def dashboard() -> str:
    return render_template("index.html", kinds=list(service_of().registry))


@pages.get("/jobs/<job_id>")
def job_page(job_id: str) -> str:
    job = service_of().runner.get(job_id)  # JobNotFound → the 404 page
    return render_template("job.html", job=job.to_dict())
