"""Pages for people: the dashboard and one job's page, sent with a strict Content-Security-Policy."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template

from progress.flask_adapter import current_owner, request_owner, service_of

pages = Blueprint("pages", __name__)

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",  # only /static modules: no inline script, no eval; data travels in data- attributes
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
"""Job data is inserted as text, and this policy is the second wall should that ever slip."""

NOSNIFF = ("X-Content-Type-Options", "nosniff")
"""On every response: nothing is sniffed into another type."""


@pages.get("/")
def dashboard() -> str | Response:
    if request_owner() is None:  # access control is on and this browser has not signed in
        return redirect("/signin", 303)
    return render_template("index.html")


@pages.get("/jobs/<job_id>")
def job_page(job_id: str) -> str:
    job = service_of().runner.get(job_id, current_owner())  # JobNotFound → the 404 page
    return render_template("job.html", job=job.to_dict())


@pages.after_app_request
def protect_html(response: Response) -> Response:
    """No response is sniffed into another type (a result file holds whatever a kind wrote, issue
    15); every HTML page (the 404 page too) gets the policy, which the API's JSON and streams need not."""
    response.headers[NOSNIFF[0]] = NOSNIFF[1]
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "same-origin"
    return response
