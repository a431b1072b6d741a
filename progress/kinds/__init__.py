"""The kinds every build has; importing this package registers them in `default_registry`."""

from . import cleanup, csv_summary, email_batch, fetch, greet, report, sleep

__all__ = ["cleanup", "csv_summary", "email_batch", "fetch", "greet", "report", "sleep"]
