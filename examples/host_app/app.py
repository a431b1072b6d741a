# examples/host_app/app.py
"""An app of its own (users, pages, a job kind, a 404 page) adopts the product: the API, both
streams and the <job-progress> element are served under /progress."""

import os
import secrets

from flask import Flask, Request, Response, redirect, render_template, request
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from progress.access import Owner
from progress.flask_adapter import ProgressExtension, service_of
from progress.service import ServiceOptions

import kinds  # noqa: F401  (its @job_kind registers the app's own kind)
from users import USERS

app = Flask(__name__)
app.config.update(SECRET_KEY=os.environ.get("FLASK_SECRET_KEY") or secrets.token_hex(32),
                  SESSION_COOKIE_SAMESITE="Lax")  # another site's form never posts with the cookie
data_dir = os.environ.get("DATA_DIR", app.instance_path)
login_manager = LoginManager(app)
login_manager.login_view = "sign_in"
login_manager.user_loader(USERS.get)


def owner_of_request(request: Request) -> Owner | None:
    """Each user sees and cancels only their own jobs; no one signed in: the API answers 401."""
    return Owner(current_user.id) if current_user.is_authenticated else None


ProgressExtension(app, url_prefix="/progress", owner_of_request=owner_of_request,
                  options=ServiceOptions(jobs_db=os.path.join(data_dir, "jobs.sqlite3"),
                                         results_dir=os.path.join(data_dir, "results")))


@app.get("/")
@login_required
def my_jobs() -> str:
    jobs = service_of().runner.list(None, 20, owner_of_request(request))
    return render_template("jobs.html", jobs=jobs)


@app.post("/tallies")
@login_required
def start_tally() -> Response:
    service_of().runner.submit("tally", {}, owner_of_request(request))
    return redirect("/", 303)


@app.get("/jobs/<job_id>")
@login_required
def one_job(job_id: str) -> str:
    """Any id: the element asks the API, which shows a job to its owner only."""
    return render_template("job.html", job_id=job_id)


@app.route("/signin", methods=["GET", "POST"])
def sign_in() -> Response | tuple[str, int]:
    user = USERS.get(request.form.get("name", ""))
    if user and user.password_matches(request.form.get("password", "")):
        login_user(user)
        return redirect("/", 303)
    failed = request.method == "POST"
    return render_template("signin.html", failed=failed), 401 if failed else 200


@app.post("/signout")
def sign_out() -> Response:
    logout_user()
    return redirect("/signin", 303)


@app.errorhandler(404)
def not_found(error: Exception) -> tuple[str, int]:
    return render_template("404.html"), 404


@app.after_request
def content_security_policy(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = "default-src 'self'; script-src 'self'; frame-ancestors 'none'"
    return response
