"""An accessibility audit with axe-core, the standard tool, in the page tests' Chromium (issue #16).

axe-core comes from npm (package.json, package-lock.json; `make install-test` runs `npm ci`)
and is injected with Playwright's `add_script_tag`, so open the page with
`open_page(url, bypass_csp=True)`: the pages' `script-src 'self'` refuses any injected
script. Without CI a missing axe-core skips the audit; with `CI=true` it fails it.

    page = open_page(url, bypass_csp=True)
    assert_accessible(page)                      # the whole page
    assert_accessible(page, within="job-progress")  # or one element and what it holds
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser import missing

AXE_JS = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
"""WCAG 2.1 levels A and AA, and axe's best practices (heading order, landmarks, ...)."""

RUN_AXE = """([within, tags]) => axe.run(within ? document.querySelector(within) : document,
                                   {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})"""


def violations(page: Any, within: str | None = None) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (or in the first element matching `within`)."""
    if not AXE_JS.is_file():
        missing(f"no axe-core at {AXE_JS} (npm ci)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(RUN_AXE, [within, RULE_TAGS])["violations"]


def describe(found: list[dict[str, Any]]) -> str:
    """One paragraph per rule broken: its id and help, then each element and what is wrong with it."""
    lines = []
    for rule in found:
        lines.append(f"{rule['id']} ({rule['impact']}): {rule['help']}")
        for node in rule["nodes"]:
            lines.append(f"  {' '.join(map(str, node['target']))}: {' '.join(node['failureSummary'].split())}")
    return "\n".join(lines)


def assert_accessible(page: Any, within: str | None = None) -> None:
    found = violations(page, within)
    assert not found, f"axe-core found {len(found)} kinds of problem on {page.url}:\n{describe(found)}"
