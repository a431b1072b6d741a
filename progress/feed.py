"""`ProcessFeed`: how a store reaches this process: every committed event goes to the hub's
streams, and the runner hears of state changes (a slot may be free) and cancel requests."""

from __future__ import annotations

from collections.abc import Callable

from .events import Event
from .hub import Hub


class ProcessFeed:
    """The `Feed` of one process (progress/store.py)."""

    def __init__(self, hub: Hub, on_state: Callable[[], None], on_cancel: Callable[[str], None],
                 on_lost: Callable[[str], None]) -> None:
        self._hub = hub
        self._on_state = on_state
        self._on_cancel = on_cancel
        self._on_lost = on_lost

    def event(self, event: Event) -> None:
        self._hub.relay(event)
        if event.type == "state":  # a job queued or ended: a job may wait, or a slot came free
            self._on_state()

    def cancel_requested(self, job_id: str) -> None:
        self._on_cancel(job_id)

    def streams_by_owner(self) -> dict[str, int]:
        return self._hub.subscriptions_by_viewer()

    def end_streams(self, farewell: bytes) -> None:
        self._hub.end_all(farewell)

    def interrupt_running(self, error: str) -> None:
        self._on_lost(error)
