"""`Monitor`: each worker's once-a-second chores. It proves this worker alive (with its
streams by owner, for `/healthz` and the stream limit), ends the jobs of workers that died
(SIGKILL, a lost host) as `interrupted`, settles jobs this worker lost while Redis was away,
forgets jobs past retention, and wakes the dispatcher as a fallback."""

from __future__ import annotations

import gevent
from redis import RedisError

from .runner import LOST_CONTACT, RedisJobRunner

TICK_S = 1.0
"""How often the chores run; the dispatcher's fallback wake-up is never more frequent."""

ALIVE_TTL_S = 4
"""A worker whose heartbeat key is this old is dead: its jobs end within about this long."""

DIED = "The worker running the job stopped without finishing it."


class Monitor:
    """Runs beside the runner in every worker; any worker may clean up after a dead one."""

    def __init__(self, runner: RedisJobRunner) -> None:
        self.runner = runner
        self._key = runner.connection.key
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self.beat()
        self._greenlet = gevent.spawn(self._forever)

    def stop(self) -> None:
        """A graceful exit: say so at once, so nobody waits for the heartbeat to lapse."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        try:
            with self.runner.client.pipeline() as pipe:
                pipe.delete(self._key(f"alive:{self.runner.worker_id}"))
                pipe.srem(self._key("workers"), self.runner.worker_id)
                pipe.delete(self._key(f"streams_of:{self.runner.worker_id}"))
                pipe.execute()
        except RedisError as error:
            self.runner.outage.failed(error, "stopping")

    def _forever(self) -> None:
        while True:
            gevent.sleep(TICK_S)
            try:
                self.tick()
            except RedisError as error:
                self.runner.outage.failed(error, "checking workers")
            else:
                self.runner.outage.recovered()

    def tick(self) -> None:
        self.beat()
        self.bury_the_dead()
        self.settle()
        self.runner.forget_finished(self.runner.keep_s)
        self.runner._dispatch()

    def beat(self) -> None:
        """Alive, with this worker's open streams by owner (the stream limit and `/healthz`)."""
        worker = self.runner.worker_id
        by_owner = self.runner.hub.subscriptions_by_viewer()
        with self.runner.client.pipeline() as pipe:
            pipe.set(self._key(f"alive:{worker}"), 1, ex=ALIVE_TTL_S)
            pipe.sadd(self._key("workers"), worker)
            pipe.delete(self._key(f"streams_of:{worker}"))
            if by_owner:
                pipe.hset(self._key(f"streams_of:{worker}"), mapping=by_owner)
                pipe.expire(self._key(f"streams_of:{worker}"), ALIVE_TTL_S)
            pipe.execute()

    def bury_the_dead(self) -> None:
        client = self.runner.client
        for raw in client.smembers(self._key("workers")):
            worker = raw.decode()
            if worker == self.runner.worker_id or client.exists(self._key(f"alive:{worker}")):
                continue
            claims = client.hgetall(self._key("claims"))
            held = [job_id.decode() for job_id, holder in claims.items() if holder == raw]
            held += [job_id.decode() for job_id in client.smembers(self._key(f"runs:{worker}"))]
            for job_id in held:
                self.runner.interrupt(job_id, worker, DIED)
            client.srem(self._key("workers"), worker)

    def settle(self) -> None:
        """Jobs this worker ran when Redis went away: their greenlets are gone, so end them."""
        for job_id in list(self.runner.unsettled):
            self.runner.interrupt(job_id, self.runner.worker_id, LOST_CONTACT)
            self.runner.unsettled.discard(job_id)
