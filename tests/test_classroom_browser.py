"""The teacher's page in Chromium (Playwright), with a class server run as its own process on 127.0.0.1.

Thirty simulated learners (threads) join and report concurrently while the page is open; the page
shows, within 2 s, the counts and the mistake chart that the database holds. Names are shown as
text (``<script>``, HTML, right-to-left text, emoji), projector mode hides the learners, and no
request leaves the server. The server is then killed (``kill -9``) and started again: every report
it acknowledged is there. A screenshot goes to artifacts/class/ (the README's docs/class.png).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from classroom_fakes import EXERCISES, FAKE, NAMES, http
from lab_session import ROOT, free_port, launched

from mnist_helpers.classroom.storage import ClassDatabase, class_keys
from mnist_helpers.classroom.summary import summarise

pytestmark = pytest.mark.slow  # a server process, thirty learners and a browser
ARTIFACTS = ROOT / "artifacts" / "class"
SERVER = """
import asyncio, collections, sys
sys.path.insert(0, {tests!r})
from classroom_fakes import FAKE, EXERCISES
from mnist_helpers.classroom.teacher import serve
asyncio.run(serve({folder!r}, "127.0.0.1", {port}, catalog=FAKE, exercise_ids=EXERCISES,
                  ready=lambda app, port: print("ready", flush=True)))
"""


def start_server(folder: Path, port: int) -> subprocess.Popen:
    code = SERVER.format(tests=str(Path(__file__).parent), folder=str(folder), port=port)
    server = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, encoding="utf-8",
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert server.stdout.readline().strip() == "ready", "the class server did not start"
    return server


def learner(base: str, key: str, name: str, seed: int, acknowledged: list) -> None:
    """One learner: joins, then checks each exercise a few times, wrong then (often) right."""
    rng = random.Random(seed)
    status, joined = http(base + "api/join", {"name": name}, key)
    assert status == 200, joined
    for exercise in EXERCISES:
        wrong = [v for v, info in FAKE.items() if info.exercise == exercise and info.kind not in ("correct",)]
        tries = [rng.choice(wrong) for _ in range(rng.randrange(0, 5))]
        if rng.random() < 0.6:
            tries.append(f"{exercise}/correct")
        for attempt, verdict in enumerate(tries, 1):
            body = {"exercise": exercise, "verdict": verdict, "attempt": attempt, "time": time.time()}
            status, answer = http(base + "api/report", body, joined["token"])
            assert status == 200, answer
            acknowledged.append((joined["learner"], exercise, verdict, attempt))
            time.sleep(rng.random() * 0.05)


def page_counts(page) -> dict:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.exercise')].map(e => [
        e.dataset.exercise, {groups: Object.fromEntries([...e.querySelectorAll('[data-group]')].map(
            g => [g.dataset.group, Number(g.dataset.count)])),
          mistakes: [...e.querySelectorAll('.mistake')].map(m => [m.dataset.verdict, Number(m.dataset.count)])}]))""")


def database_counts(folder: Path) -> dict:
    db = ClassDatabase(folder)
    data = summarise(FAKE, EXERCISES, db.learners(), db.reports())
    db.close()
    return {e["exercise"]: {"groups": e["groups"], "mistakes": [[m["verdict"], m["learners"]] for m in e["mistakes"]]}
            for e in data["exercises"]}


def test_thirty_learners_on_the_page_then_kill_and_restart(chromium, tmp_path):
    folder, port = tmp_path / "class", free_port()
    server = start_server(folder, port)
    keys, base = class_keys(folder), f"http://127.0.0.1:{port}/"
    acknowledged: list = []
    try:
        with launched(chromium) as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            outside, errors = [], []
            page.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(base)
                                              else (outside.append(route.request.url), route.abort())))
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.on("dialog", lambda dialog: (errors.append("dialog: " + dialog.message), dialog.dismiss()))
            page.goto(f"{base}teacher#{keys.teacher}")
            page.wait_for_selector(".exercise", timeout=10_000)
            names = [NAMES[n % len(NAMES)] if n < len(NAMES) else f"learner {n}" for n in range(30)]
            threads = [threading.Thread(target=learner, args=(base, keys.learner, name, n, acknowledged))
                       for n, name in enumerate(names)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert len({a[0] for a in acknowledged}) <= 30 and acknowledged
            finished = time.monotonic()
            expected = database_counts(folder)
            assert sum(expected["05.2"]["groups"].values()) == 30
            page.wait_for_function(f"() => document.getElementById('totals').dataset.reports == {len(acknowledged)}",
                                   timeout=2000)
            assert time.monotonic() - finished < 2.5
            assert page_counts(page) == expected
            shown = page.locator("#learners bdi.name").all_text_contents()
            assert sorted(shown) == sorted(names)  # every name as text: no markup ran, none was lost
            assert page.locator("#learners script, #learners b").count() == 0 and not errors
            note = FAKE["05.2/zero-grad-missing"].note
            if any(v == "05.2/zero-grad-missing" for v, _ in expected["05.2"]["mistakes"]):
                assert page.get_by_text(note).count() == 1
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "class.png"), full_page=False)
            page.click("#projector")
            assert not page.locator("#people").is_visible() and page.locator(".exercise").first.is_visible()
            page.screenshot(path=str(ARTIFACTS / "projector.png"))
            assert outside == []
    finally:
        server.send_signal(signal.SIGKILL)  # no clean shutdown: every acknowledged report must be on disk
        server.wait(10)
    db = ClassDatabase(folder)
    assert sorted(r[:4] for r in db.reports()) == sorted(acknowledged)
    db.close()
    again = start_server(folder, port)
    try:
        status, data = http(base + "api/summary", key=keys.teacher)
        assert status == 200 and data["reports"] == len(acknowledged) and data["learners"] == 30
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(10) == 0
