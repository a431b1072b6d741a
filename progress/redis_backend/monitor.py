"""`Monitor`: each worker's once-a-second chores on Redis. It proves this worker alive (with
its streams by owner, for `/healthz` and the stream limit), ends the jobs of workers that died
(SIGKILL, a lost host) as `interrupted`, and settles jobs this worker lost while Redis was away."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gevent
from redis import RedisError

from ..runner import log_state
from ..store import Feed

if TYPE_CHECKING:
    from .store import RedisStore

TICK_S = 1.0
"""How often the chores run."""

ALIVE_TTL_S = 4
"""A worker whose heartbeat key is this old is dead: its jobs end within about this long."""

DIED = "The worker running the job stopped without finishing it."
LOST_CONTACT = "The worker running the job lost contact with Redis."


class Monitor:
    """Runs beside the runner in every worker; any worker may clean up after a dead one."""

    def __init__(self, store: RedisStore, feed: Feed) -> None:
        self.store = store
        self._feed = feed
        self._client = store.client
        self._key = store.connection.key
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self.beat()
        self._greenlet = gevent.spawn(self._forever)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        worker = self.store.holder
        try:
            with self._client.pipeline() as pipe:
                pipe.delete(self._key(f"alive:{worker}"))
                pipe.srem(self._key("workers"), worker)
                pipe.delete(self._key(f"streams_of:{worker}"))
                pipe.execute()
        except RedisError as error:
            self.store.outage.failed(error, "stopping")

    def _forever(self) -> None:
        while True:
            gevent.sleep(TICK_S)
            try:
                self.tick()
            except RedisError as error:
                self.store.outage.failed(error, "checking workers")
            else:
                self.store.outage.recovered()

    def tick(self) -> None:
        self.beat()
        self.bury_the_dead()
        self.settle()

    def beat(self) -> None:
        """Alive, with this worker's open streams by owner (the stream limit and `/healthz`)."""
        worker = self.store.holder
        by_owner = self._feed.streams_by_owner()
        with self._client.pipeline() as pipe:
            pipe.set(self._key(f"alive:{worker}"), 1, ex=ALIVE_TTL_S)
            pipe.sadd(self._key("workers"), worker)
            pipe.delete(self._key(f"streams_of:{worker}"))
            if by_owner:
                pipe.hset(self._key(f"streams_of:{worker}"), mapping=by_owner)
                pipe.expire(self._key(f"streams_of:{worker}"), ALIVE_TTL_S)
            pipe.execute()

    def bury_the_dead(self) -> None:
        client = self._client
        for raw in client.smembers(self._key("workers")):
            worker = raw.decode()
            if worker == self.store.holder or client.exists(self._key(f"alive:{worker}")):
                continue
            claims = client.hgetall(self._key("claims"))
            claimed = [job_id.decode() for job_id, holder in claims.items() if holder == raw]
            running = [job_id.decode() for job_id in client.smembers(self._key(f"runs:{worker}"))]
            for job_id in claimed:  # never started: it waits in its place again
                self.store.release(job_id, worker)
            for job_id in running:
                self._interrupt(job_id, worker, DIED)
            client.srem(self._key("workers"), worker)

    def settle(self) -> None:
        """Jobs this worker ran when Redis went away: their greenlets are gone, so end them."""
        for job_id in list(self.store.unsettled):
            self.store.release(job_id, self.store.holder)  # claimed, never started: it waits again
            self._interrupt(job_id, self.store.holder, LOST_CONTACT)
            self.store.unsettled.discard(job_id)

    def _interrupt(self, job_id: str, holder: str, error: str) -> None:
        job = self.store.interrupt_held(job_id, holder, error)
        if job is not None:
            log_state(job)
