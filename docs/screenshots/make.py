"""Regenerate the dashboard screenshots: `.venv/bin/python docs/screenshots/make.py`.

Starts a real gunicorn on a free port, starts a few jobs in different states and
photographs the dashboard with Debian's chromium (light, dark, phone width).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, PHONE  # noqa: E402
from tests.conftest import start_server  # noqa: E402

OUT = Path(__file__).resolve().parent
VIEW = {"width": 1100, "height": 720}
SHOTS = [("dashboard-light.png", "light", VIEW), ("dashboard-dark.png", "dark", VIEW),
         ("dashboard-phone.png", "light", PHONE)]


def start_jobs(url: str) -> None:
    """One of each look: finished, cancelled, running, queued."""
    with httpx.Client(base_url=url) as client:
        def start(kind: str, **params: object) -> str:
            return client.post("/api/jobs", json={"kind": kind, "params": params}).json()["id"]

        start("sleep", seconds=0.2, steps=4)
        client.post(f"/api/jobs/{start('sleep', seconds=60, steps=60)}/cancel")
        start("greet", user="Ada")
        start("sleep", seconds=40, steps=400)
        start("sleep", seconds=20, steps=100)
    time.sleep(2.5)


def main() -> None:
    with tempfile.TemporaryDirectory() as logs:
        server = start_server(Path(logs), {"JOBS_CONCURRENCY": "3", "JOB_KINDS_MODULES": ""})
        try:
            start_jobs(server.url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name, scheme, viewport in SHOTS:
                    page = browser.new_page(color_scheme=scheme, viewport=viewport, reduced_motion="reduce")
                    page.goto(server.url)
                    page.locator('#connection[data-connection="live"]').wait_for()
                    page.locator("details.kind").first.wait_for()
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(OUT / name))
                    page.close()
                    print(OUT / name)
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
    subprocess.run(["ls", "-l", *(str(OUT / name) for name, _, _ in SHOTS)], check=False)
