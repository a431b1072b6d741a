"""Plots for docs/performance.md from the saved figures (matplotlib; `pip install -r bench/requirements.txt`).

    .venv/bin/python -m bench.plot
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .report import RESULTS  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


def rows(bench: str) -> list[dict]:
    return json.loads((RESULTS / f"{bench}.json").read_text())["rows"]


def by_server(data: list[dict], **match: object) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in data:
        if all(row.get(key) == value for key, value in match.items()):
            grouped.setdefault(row["server"], []).append(row)
    return grouped


def save_figure(figure, axes, xlabel: str, ylabel: str, title: str, name: str) -> None:
    """Label, grid and legend as every plot here has them, then the PNG beside docs/performance.md."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(DOCS / name, dpi=100)


def plot_rss() -> None:
    figure, axes = plt.subplots(figsize=(6.4, 4))
    for server, points in by_server(rows("hold")).items():
        axes.plot([p["streams"] for p in points], [p["rss_mib"] for p in points], marker="o", label=server)
    save_figure(figure, axes, "open streams on /api/events", "worker RSS (MiB)",
                "Memory against open streams (one gevent worker)", "performance-rss.png")


def plot_latency() -> None:
    figure, axes = plt.subplots(figsize=(6.4, 4))
    for server, points in by_server(rows("fanout"), rate=50).items():
        subscribers = [p["subscribers"] for p in points]
        axes.plot(subscribers, [p["latency_p50_ms"] for p in points], marker="o", label=f"{server} p50")
        axes.plot(subscribers, [p["latency_p99_ms"] for p in points], marker="s", linestyle="--", label=f"{server} p99")
    axes.set_xscale("log")
    save_figure(figure, axes, "subscribers of one job (50 reports/s)", "publish to receipt (ms)",
                "Latency against subscribers", "performance-latency.png")


def main() -> None:
    plot_rss()
    plot_latency()


if __name__ == "__main__":
    main()
