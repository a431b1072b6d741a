"""Profile our worker with py-spy while one fan-out or jobs scenario runs (profile before optimising).

    .venv/bin/python -m bench.profile fanout --subscribers 1000 --rate 50 --out /tmp/fanout.svg
    .venv/bin/python -m bench.profile jobs --jobs 200 --seconds 1 --out /tmp/jobs.svg
    .venv/bin/python -m bench.profile hold --streams 5000 --out /tmp/hold.svg

py-spy (`pip install py-spy`, see bench/requirements.txt) samples the live worker; the
SVG is a flame graph, and `--format raw` gives collapsed stacks for grep.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from . import fanout, hold, jobs, servers
from .sse_client import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", choices=("fanout", "jobs", "hold"))
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--format", default="flamegraph", choices=("flamegraph", "raw", "speedscope"))
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    servers.prepare_load_generator()
    server = servers.start("ours", {"JOBS_CONCURRENCY": str(options.jobs)})
    try:
        assert server.worker is not None
        recorder = subprocess.Popen([spy, "record", "-p", str(server.worker.pid), "-r", "500", "--nonblocking",
                                     "-f", options.format, "-o", str(options.out)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if options.bench == "fanout":
            print(run(lambda: fanout.measure(server, options.subscribers, options.rate, options.count)))  # type: ignore[arg-type]
        elif options.bench == "jobs":
            print(run(lambda: jobs.measure(server, "stream", options.jobs, options.seconds)))  # type: ignore[arg-type]
        else:
            print(run(lambda: hold.measure(server, [options.streams], 1.0)))  # type: ignore[arg-type]
        recorder.send_signal(2)  # SIGINT: py-spy writes its output and exits
        recorder.wait(30)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
