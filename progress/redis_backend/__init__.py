"""The Redis backend (`REDIS_URL`): jobs, queue and events shared by several workers and hosts,
behind the same interfaces as the in-memory parts. `parts.build` wires them; docs/redis.md
tells the design. Nothing is imported here, so `connection` stays light."""
