"""The instance's data folder (DATA_DIR) and the paths inside it, fixed when the app is built.

Two servers on one machine must never share uploads, the outbox, result files or the
jobs database, nor clean up each other's files, so nothing defaults to a shared temp
folder: every path defaults to a place inside DATA_DIR, itself the Flask app's instance
folder unless set. A folder that cannot be created or written stops the start here,
naming its variable, instead of failing the first job that writes to it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace

from progress import defaults

from .settings import Settings, SettingsError


def resolve_data_paths(settings: Settings, instance_path: str) -> Settings:
    """`settings` with every path filled in, and every folder created and shown to be writable."""
    data_dir = os.path.abspath(settings.data_dir or instance_path)
    require_writable_folder("DATA_DIR", data_dir)
    results_dir = os.path.abspath(settings.results_dir or os.path.join(data_dir, defaults.RESULTS_FOLDER))
    kinds_data_dir = os.path.abspath(settings.kinds_data_dir or data_dir)
    require_writable_folder("RESULTS_DIR", results_dir)
    require_writable_folder("KINDS_DATA_DIR", kinds_data_dir)
    return replace(settings, data_dir=data_dir, results_dir=results_dir, kinds_data_dir=kinds_data_dir,
                   jobs_db=settings.jobs_db or os.path.join(data_dir, defaults.JOBS_DB_FILE))


def require_writable_folder(variable: str, folder: str) -> None:
    """Create `folder` if missing and write a file in it; `SettingsError` naming `variable` if that fails."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise SettingsError(f"{variable}: cannot create or write the folder {folder!r} "
                            f"({error.strerror or error})") from None
