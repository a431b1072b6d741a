"""The kinds every build has; importing this package registers them in `default_registry`.

They register in the order below, which is the order `GET /api/kinds` and the page list them:
the reference kinds first, the maintenance one last.
"""

from . import sleep, greet, report, email_batch, csv_summary, fetch, cleanup  # noqa: I001

__all__ = ["cleanup", "csv_summary", "email_batch", "fetch", "greet", "report", "sleep"]
