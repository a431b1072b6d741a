"""Shared bits of every bench: command line, percentiles, a printed table, the saved JSON."""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--servers", default="baseline,ours",
                        help="which servers to measure, in order (default: baseline,ours)")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds at tiny sizes, only to prove the script still runs")
    parser.add_argument("--out", type=Path, help="where to save the figures as JSON (default: none)")
    return parser


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def busy(cpu_s: float, wall_s: float) -> str:
    """Share of one core used; the load generator is saturated above 90 %."""
    share = cpu_s / wall_s if wall_s > 0 else 0.0
    return f"{share:.0%}" + (" SATURATED" if share > 0.9 else "")


def print_table(title: str, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    text = [[_format(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in text)) for i, column in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths)))
    for line in text:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)))


def _format(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def save(path: Path | None, bench: str, rows: list[dict[str, object]], **extra: object) -> None:
    """The rows as JSON with the date and Python version; `extra` adds top-level keys (a summary)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"bench": bench, "date": time.strftime("%Y-%m-%d %H:%M"),
                                "python": platform.python_version(), "rows": rows, **extra}, indent=1))
