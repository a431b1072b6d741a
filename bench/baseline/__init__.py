"""The baseline: a minimal hand-written Flask + gevent SSE server, measured in the same runs."""
