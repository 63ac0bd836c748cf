"""The class server: how many reports a second it stores, and how long a check waits on the class.

The server runs as its own process on 127.0.0.1 (rate limit lifted), with a two-verdict catalog:
what it does per report does not depend on the catalog. Learners are threads, each on one
keep-alive connection. The delay a check adds is the time ``ClassLink.report`` takes in the
check's thread (the sending happens in the background), with the server down (nothing listens) and
up but slow (it accepts connections and never answers).
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mnist_helpers.classroom import client
from mnist_helpers.classroom.storage import class_keys

ROOT = Path(__file__).resolve().parent.parent
SERVER = """
import asyncio, collections
from mnist_helpers.classroom.teacher import serve
Info = collections.namedtuple("Info", "exercise id kind message note")
catalog = {{"b.1/correct": Info("b.1", "b.1/correct", "correct", "Correct!", ""),
           "b.1/wrong": Info("b.1", "b.1/wrong", "not-yet", "Not yet", "")}}
asyncio.run(serve({folder!r}, "127.0.0.1", 0, catalog=catalog, exercise_ids=["b.1"], rate=(10**9, 1e9),
                  ready=lambda app, port: print(port, flush=True)))
"""
Verdict = collections.namedtuple("Verdict", "exercise id line kind")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reports_per_second(folder: Path, learners: int, each: int) -> dict:
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(folder=str(folder))], stdout=subprocess.PIPE,
                              text=True, encoding="utf-8", env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        port, keys = int(server.stdout.readline()), class_keys(folder)

        def post(connection, path, body, key):
            connection.request("POST", path, json.dumps(body), {"Authorization": f"Bearer {key}"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200, answer
            return answer

        def learner(n: int, go: threading.Barrier):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            token = post(connection, "/api/join", {"name": f"learner {n}"}, keys.learner)["token"]
            go.wait()
            for attempt in range(1, each + 1):
                post(connection, "/api/report", {"exercise": "b.1", "verdict": "b.1/wrong", "attempt": attempt,
                                                 "time": time.time()}, token)

        go = threading.Barrier(learners + 1)
        threads = [threading.Thread(target=learner, args=(n, go)) for n in range(learners)]
        for thread in threads:
            thread.start()
        go.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - start
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return {"learners": learners, "reports": learners * each, "seconds": seconds,
            "per_second": learners * each / seconds}


def check_delay(address: str, calls: int) -> dict:
    """Microseconds ``report`` takes in the check's thread: median, 99th percentile, max."""
    link = client.ClassLink(address, "bench")
    verdict = Verdict("b.1", "b.1/wrong", "Not yet", "not-yet")
    took = []
    with contextlib.redirect_stdout(sys.stderr):  # the one line a learner sees: not part of the report
        for _ in range(calls):
            start = time.perf_counter()
            link.report(verdict)
            took.append((time.perf_counter() - start) * 1e6)
            time.sleep(0.001)
    link.close()
    took.sort()
    return {"median_us": statistics.median(took), "p99_us": took[int(0.99 * (len(took) - 1))], "max_us": took[-1]}


def measure(quick: bool) -> dict:
    """The class server's figures (quick: a few learners and calls, only to keep the benchmark working)."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        os.environ.setdefault("MNIST_CLASS_STATE", str(scratch / "state"))
        throughput = reports_per_second(scratch / "class", 4 if quick else 16, 25 if quick else 200)
        calls = 50 if quick else 500
        down = check_delay(f"http://127.0.0.1:{free_port()}/#" + "k" * 43, calls)
        with socket.socket() as slow:  # accepts connections (the backlog) and never answers
            slow.bind(("127.0.0.1", 0))
            slow.listen(64)
            up_slow = check_delay(f"http://127.0.0.1:{slow.getsockname()[1]}/#" + "k" * 43, calls)
    return {"throughput": throughput, "delay_down": down, "delay_slow": up_slow, "calls": calls}


def render(figures: dict) -> str:
    t = figures["throughput"]
    rows = [f"| {case} | {d['median_us']:.0f} | {d['p99_us']:.0f} | {d['max_us']:.0f} |"
            for case, d in (("down (nothing listens)", figures["delay_down"]),
                            ("up but slow (never answers)", figures["delay_slow"]))]
    return (f"### The class server\n\n{t['per_second']:.0f} reports a second stored (each committed to disk before "
            f"its answer): {t['reports']} reports from {t['learners']} learners at once, in {t['seconds']:.2f} s.\n\n"
            f"What a check waits on the class ({figures['calls']} checks; microseconds):\n\n"
            "| server | median | 99th percentile | max |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
