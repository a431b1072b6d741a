"""`Monitor`: each worker's chores on Redis, twice a second. It proves this worker alive (with
its streams by owner, for `/healthz` and the stream limit), ends the jobs of workers that died
(SIGKILL, a lost host) as `interrupted`, writes what this worker held while Redis was away,
and past `REDIS_OUTAGE_GRACE_S` without Redis ends the jobs running here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent
from redis import RedisError

from ..runner import log_state
from ..store import Feed

if TYPE_CHECKING:
    from .store import RedisStore

TICK_S = 0.5
"""How often the chores run."""

DEAD_AFTER_S = 4.0
"""A worker whose heartbeat is this old, while Redis answered all along, is dead: its jobs end
within about this long."""

QUIET_GAP_S = 2.0
"""No heartbeat from any worker reached Redis for this long: it was away (down, frozen or
restarted), so every heartbeat is late and none proves a death until `DEAD_AFTER_S` more."""

STREAMS_TTL_S = 4
"""A worker's stream counts outlive it this long at most."""

DIED = "The worker running the job stopped without finishing it."
LOST_CONTACT = "The worker running the job lost contact with the job store for longer than REDIS_OUTAGE_GRACE_S."


class Monitor:
    """Runs beside the runner in every worker; any worker may clean up after a dead one."""

    def __init__(self, store: RedisStore, feed: Feed) -> None:
        self.store = store
        self._feed = feed
        self._client = store.client
        self._key = store.connection.key
        self._gave_up = False
        """The jobs running here were ended for want of Redis in this outage."""
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._forever)

    def stop(self) -> None:
        """Say goodbye: a heartbeat of 0 lets the others end at once whatever was left here."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        worker = self.store.holder
        try:
            with self._client.pipeline() as pipe:
                pipe.hset(self._key("heartbeats"), worker, 0)
                pipe.delete(self._key(f"streams_of:{worker}"))
                pipe.execute()
        except RedisError as error:
            self.store.outage.failed(error, "stopping")

    def _forever(self) -> None:
        while True:
            try:
                self.tick()
            except RedisError as error:
                self.store.outage.failed(error, "checking workers")
                self._give_up_after_grace()
            gevent.sleep(TICK_S)

    def tick(self) -> None:
        """Heartbeat first, so the others never take this worker for dead; then what was held
        through an outage, and only then is Redis said to be back."""
        ending = self.beat()
        self.store.write_held()
        self.store.outage.recovered()
        self._gave_up = False
        for worker, job_id in zip(ending[::2], ending[1::2]):
            self._interrupt(job_id.decode(), worker.decode())

    def beat(self) -> list[bytes]:
        """Alive, with this worker's open streams by owner; returns the running jobs of dead
        workers as worker, job id, ... (the script released their claims)."""
        worker = self.store.holder
        by_owner = self._feed.streams_by_owner()
        with self._client.pipeline() as pipe:
            pipe.delete(self._key(f"streams_of:{worker}"))
            if by_owner:
                pipe.hset(self._key(f"streams_of:{worker}"), mapping=by_owner)
                pipe.expire(self._key(f"streams_of:{worker}"), STREAMS_TTL_S)
            self.store.scripts.tick(args=[self.store.connection.prefix, worker, int(DEAD_AFTER_S * 1000),
                                          int(QUIET_GAP_S * 1000)], client=pipe)
            return pipe.execute()[-1]

    def _give_up_after_grace(self) -> None:
        """Past the grace, the jobs running here end `interrupted`; that too is written once
        Redis answers."""
        if not self._gave_up and self.store.outage.lasted() > self.store.outage_grace_s:
            self._gave_up = True
            self._feed.interrupt_running(LOST_CONTACT)

    def _interrupt(self, job_id: str, holder: str) -> None:
        job = self.store.interrupt_held(job_id, holder, DIED)
        if job is not None:
            log_state(job)
