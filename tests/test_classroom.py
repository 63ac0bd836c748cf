"""The class server and the learner's client, over real HTTP on 127.0.0.1, with a small catalog of verdicts.

Covered: joining, reporting, the summary's groups and mistakes, CSV export, and everything the
server must refuse with nothing stored (wrong keys, big bodies, malformed JSON, unknown ids, floods,
replayed and forged reports, bad names); the client's queue while the server is away.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from classroom_fakes import EXERCISES, FAKE, NAMES, http

from mnist_helpers.classroom import client as class_client
from mnist_helpers.classroom.storage import ClassDatabase, ClassFolderError, class_keys
from mnist_helpers.classroom.summary import group
from mnist_helpers.classroom.teacher import serve

Verdict = collections.namedtuple("Verdict", "exercise id line kind")


class RunningClass:
    """A class server in a thread of this process, on a free port of 127.0.0.1."""

    def __init__(self, folder: Path, rate=(30, 3.0), prefix="/", hub=False):
        self.folder, started = folder, threading.Event()

        def ready(app, port):
            self.app, self.port, self.loop = app, port, asyncio.get_running_loop()
            started.set()

        self.thread = threading.Thread(target=asyncio.run, daemon=True,
                                       args=(serve(folder, "127.0.0.1", 0, prefix, hub, FAKE, EXERCISES, rate, ready),))
        self.thread.start()
        assert started.wait(10), "the class server did not start"
        self.keys = class_keys(folder)
        self.base = f"http://127.0.0.1:{self.port}{prefix}"

    def stop(self):
        self.loop.call_soon_threadsafe(self.app.stop_event.set)
        self.thread.join(10)


@pytest.fixture
def running(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_CLASS_STATE", str(tmp_path / "state"))
    server = RunningClass(tmp_path / "class")
    yield server
    server.stop()


def join(server, name="Ada"):
    status, answer = http(server.base + "api/join", {"name": name}, server.keys.learner)
    assert status == 200, answer
    return answer


def report(server, token, exercise, verdict, attempt, when=None):
    body = {"exercise": exercise, "verdict": verdict, "attempt": attempt, "time": when or time.time()}
    return http(server.base + "api/report", body, token)


def summary(server):
    status, answer = http(server.base + "api/summary", key=server.keys.teacher)
    assert status == 200, answer
    return answer


def stored(server) -> list:
    return ClassDatabase(server.folder).reports()


def test_keys_are_long_random_separate_and_kept(tmp_path):
    keys = class_keys(tmp_path / "c")
    assert len(keys.learner) >= 40 and len(keys.teacher) >= 40 and keys.learner != keys.teacher
    assert class_keys(tmp_path / "c") == keys  # the same class after a restart
    assert class_keys(tmp_path / "d") != keys
    assert (tmp_path / "c" / "keys.json").stat().st_mode & 0o077 == 0


def test_a_folder_holding_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ClassFolderError, match="new or empty folder"):
        class_keys(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("kinds, expected", [
    ([], "not_started"), (["not-answered"], "not_started"), (["correct"], "first_try"),
    (["not-answered", "correct"], "first_try"), (["no-shift", "correct"], "after_tries"),
    (["raised", "no-shift"], "trying"), (["raised", "no-shift", "not-yet"], "stuck"),
    (["raised", "stopped", "no-shift", "not-yet", "correct"], "after_tries"),
])
def test_groups(kinds, expected):
    assert group(kinds) == expected


def test_reports_make_the_summary(running):
    ada, bob, cy = (join(running, n) for n in ("Ada", "Bob", "Cy"))
    report(running, ada["token"], "05.2", "05.2/correct", 1)
    for attempt, verdict in enumerate(["05.2/zero-grad-missing", "05.2/not-yet", "05.2/correct"], 1):
        assert report(running, bob["token"], "05.2", verdict, attempt)[0] == 200
    for attempt in (1, 2, 3):
        report(running, cy["token"], "05.2", "05.2/zero-grad-missing", attempt)
    report(running, cy["token"], "04.2", "04.2/no-shift", 1)
    data = summary(running)
    by_id = {e["exercise"]: e for e in data["exercises"]}
    assert [e["exercise"] for e in data["exercises"]] == EXERCISES
    assert by_id["05.2"]["groups"] == {"first_try": 1, "after_tries": 1, "stuck": 1, "trying": 0, "not_started": 0}
    assert by_id["04.2"]["groups"] == {"first_try": 0, "after_tries": 0, "stuck": 0, "trying": 1, "not_started": 2}
    bars = by_id["05.2"]["mistakes"]
    assert [(b["verdict"], b["learners"]) for b in bars] == [("05.2/zero-grad-missing", 2), ("05.2/not-yet", 1)]
    assert bars[0]["note"] == FAKE["05.2/zero-grad-missing"].note and bars[0]["message"].startswith("Not yet")
    people = {p["name"]: p for p in data["people"]}
    assert people["Ada"]["done"] == ["05.2"] and people["Cy"]["stuck"][0]["exercise"] == "05.2"
    assert data["people"][0]["name"] == "Cy"  # stuck longest first
    rows = list(csv.DictReader(io.StringIO(http(running.base + "api/class.csv", key=running.keys.teacher)[1])))
    assert len(rows) == data["reports"] == 8 and {r["name"] for r in rows} == {"Ada", "Bob", "Cy"}


def test_joining_again_with_the_token_is_the_same_learner(running):
    first = join(running, "Ada")
    report(running, first["token"], "05.2", "05.2/not-yet", 4)
    status, again = http(running.base + "api/join", {"name": "Ada L.", "token": first["token"]}, running.keys.learner)
    assert status == 200 and again["learner"] == first["learner"] and again["attempts"] == {"05.2": 4}
    assert summary(running)["learners"] == 1 and summary(running)["people"][0]["name"] == "Ada L."


def test_wrong_keys_get_403_and_change_nothing(running):
    ada = join(running)
    before = (stored(running), summary(running)["learners"])
    body = {"exercise": "05.2", "verdict": "05.2/correct", "attempt": 1, "time": time.time()}
    for key in (None, "", "x" * 43, running.keys.teacher, running.keys.learner + "x"):
        assert http(running.base + "api/join", {"name": "Eve"}, key)[0] == 403
    for key in (None, running.keys.learner, running.keys.teacher, ada["token"][:-1]):
        assert http(running.base + "api/report", body, key)[0] == 403
    for key in (None, running.keys.learner, ada["token"]):  # a learner's keys cannot read the class
        assert http(running.base + "api/summary", key=key)[0] == 403
        assert http(running.base + "api/class.csv", key=key)[0] == 403
    assert (stored(running), summary(running)["learners"]) == before


@pytest.mark.parametrize("raw, status", [
    (b"{" * 2000, 413), (b"not json", 400), (b"[1, 2]", 400), (b"\xff\xfe", 400),
    (json.dumps({"exercise": "05.2", "verdict": "05.2/correct", "attempt": 1}).encode(), 400),
    (json.dumps({"exercise": "05.2", "verdict": "05.2/correct", "attempt": 1, "time": 1, "code": "x"}).encode(), 400),
    (json.dumps({"exercise": "05.2", "verdict": "05.2/correct", "attempt": "1", "time": "now"}).encode(), 400),
    (json.dumps({"exercise": "05.2", "verdict": "05.2/correct", "attempt": True, "time": 1e9}).encode(), 400),
    (json.dumps({"exercise": "05.2", "verdict": "05.2/correct", "attempt": 1, "time": 1e12}).encode(), 400),
    (json.dumps({"exercise": "99.9", "verdict": "05.2/correct", "attempt": 1, "time": "T"}).encode(), 400),
    ("NOW:" + json.dumps({"exercise": "99.9", "verdict": "99.9/correct", "attempt": 1}), 422),
    ("NOW:" + json.dumps({"exercise": "05.2", "verdict": "05.2/made-up", "attempt": 1}), 422),
    ("NOW:" + json.dumps({"exercise": "04.2", "verdict": "05.2/correct", "attempt": 1}), 422),
    ("NOW:" + json.dumps({"exercise": "05.2", "verdict": ["05.2/correct"], "attempt": 1}), 422),
])
def test_bad_reports_are_refused_and_nothing_is_stored(running, raw, status):
    ada = join(running)
    if isinstance(raw, str):  # a report right but for its ids: add the time
        raw = json.dumps(dict(json.loads(raw[4:]), time=time.time())).encode()
    got, answer = http(running.base + "api/report", key=ada["token"], raw=raw, method="POST")
    assert got == status and isinstance(answer, dict) and answer["error"]
    assert stored(running) == []


def test_replayed_and_forged_reports_are_refused(running):
    ada, bob = join(running, "Ada"), join(running, "Bob")
    assert report(running, ada["token"], "05.2", "05.2/not-yet", 1)[0] == 200
    assert report(running, ada["token"], "05.2", "05.2/not-yet", 1)[0] == 409  # the same report again
    assert report(running, ada["token"], "05.2", "05.2/correct", 1)[0] == 409  # rewriting history
    assert report(running, bob["token"], "05.2", "05.2/correct", 1)[0] == 200  # Bob's own attempts are his
    # Reports carry no learner id: a learner's token names the learner, and a report for Bob needs Bob's token.
    status, _ = http(running.base + "api/report", {"exercise": "05.2", "verdict": "05.2/correct", "attempt": 9,
                                                   "time": time.time(), "learner": bob["learner"]}, ada["token"])
    assert status == 400
    assert [(r[0], r[2]) for r in stored(running)] == [(ada["learner"], "05.2/not-yet"),
                                                       (bob["learner"], "05.2/correct")]


def test_a_flood_is_rate_limited_per_learner(tmp_path):
    server = RunningClass(tmp_path / "class", rate=(5, 0.01))
    try:
        ada, bob = join(server, "Ada"), join(server, "Bob")
        statuses = [report(server, ada["token"], "05.2", "05.2/not-yet", n)[0] for n in range(1, 9)]
        assert statuses == [200] * 5 + [429] * 3
        assert report(server, bob["token"], "05.2", "05.2/not-yet", 1)[0] == 200  # others still report
        assert len(stored(server)) == 6
    finally:
        server.stop()


@pytest.mark.parametrize("name", NAMES + [""])
def test_names_are_kept_as_given(running, name):
    assert join(running, name)["name"] == name.strip()
    assert summary(running)["people"][0]["name"] == name.strip()


@pytest.mark.parametrize("name", ["x" * 41, "tab\there", "new\nline", 42, ["Ada"]])
def test_bad_names_are_refused(running, name):
    status, answer = http(running.base + "api/join", {"name": name}, running.keys.learner)
    assert status == 400 and answer["error"]
    assert summary(running)["learners"] == 0


def test_csv_never_starts_a_formula(running):
    join(running, "=HYPERLINK(\"x\")")
    ada = join(running, "@Ada")
    report(running, ada["token"], "05.2", "05.2/correct", 1)
    text = http(running.base + "api/class.csv", key=running.keys.teacher)[1]
    assert "'@Ada" in text and "\n@" not in text


def test_pages_load_nothing_from_outside(running):
    with urllib.request.urlopen(running.base + "teacher", timeout=10) as response:
        page, policy = response.read().decode(), response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "http" not in page and "<script src=\"static/class.js\"" in page
    for name in ("class.js", "class.css"):
        with urllib.request.urlopen(running.base + "static/" + name, timeout=10) as response:
            assert "http://" not in response.read().decode() and response.status == 200
    assert http(running.base + "static/../server.py")[0] == 404


def test_the_client_reports_in_the_background(running, capsys):
    link = class_client.join_class(running.base + "#" + running.keys.learner, name="Ada")
    assert "Joined the class as Ada" in capsys.readouterr().out
    for verdict in ("05.2/not-yet", "05.2/zero-grad-missing", "05.2/correct"):
        class_client.report(Verdict("05.2", verdict, "line", "kind"))
    assert link.flush()
    assert [(r[2], r[3]) for r in stored(running)] == [("05.2/not-yet", 1), ("05.2/zero-grad-missing", 2),
                                                        ("05.2/correct", 3)]
    link.close()
    again = class_client.join_class(running.base + "#" + running.keys.learner, name="Ada")  # a new kernel, say
    class_client.report(Verdict("05.2", "05.2/correct", "line", "kind"))
    assert again.flush() and summary(running)["learners"] == 1 and stored(running)[-1][3] == 4
    again.close()


def test_a_wrong_join_line_says_so(running):
    with pytest.raises(class_client.ClassError, match="join line"):
        class_client.join_class("http://127.0.0.1:1/", name="Ada")
    with pytest.raises(class_client.ClassError, match="refused"):
        class_client.join_class(running.base + "#" + running.keys.teacher, name="Ada")
    with pytest.raises(class_client.ClassError, match="40 characters"):
        class_client.join_class(running.base + "#" + running.keys.learner, name="x" * 41)


def test_verdicts_wait_while_the_server_is_away(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_CLASS_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(class_client, "RETRY", (0.05, 0.2))
    server = RunningClass(tmp_path / "class")
    address, port = server.base + "#" + server.keys.learner, server.port
    link = class_client.join_class(address, name="Ada")
    server.stop()
    for _ in range(3):
        class_client.report(Verdict("05.2", "05.2/not-yet", "line", "kind"))
    deadline = time.monotonic() + 10
    while not link.unreachable and time.monotonic() < deadline:
        time.sleep(0.02)
    class_client.report(Verdict("05.2", "05.2/correct", "line", "kind"))
    class_client.report(Verdict("05.2", "05.2/correct", "line", "kind"))
    said = capsys.readouterr().out
    assert said.count("cannot be reached") == 1 and "sent when it answers" in said
    assert stored(server) == []
    again = RunningClass.__new__(RunningClass)  # the same class, the same port, started again
    started = threading.Event()

    def ready(app, bound):
        again.app, again.loop = app, asyncio.get_running_loop()
        started.set()

    again.thread = threading.Thread(target=asyncio.run, daemon=True,
                                    args=(serve(tmp_path / "class", "127.0.0.1", port, "/", False, FAKE, EXERCISES,
                                                None, ready),))
    again.thread.start()
    assert started.wait(10)
    again.folder = tmp_path / "class"
    try:
        assert link.flush(20)
        assert [r[2] for r in stored(again)] == ["05.2/not-yet"] * 3 + ["05.2/correct"] * 2
    finally:
        link.close()
        again.stop()


def test_the_queue_drops_the_oldest_beyond_its_bound(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_CLASS_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(class_client, "QUEUE_LIMIT", 5)
    link = class_client.ClassLink("http://127.0.0.1:9/#" + "k" * 43, "Ada")  # port 9: nothing listens
    for n in range(8):
        link.report(Verdict("05.2", f"05.2/{n}", "line", "kind"))
    assert [item["verdict"] for item in link.queue] == [f"05.2/{n}" for n in range(3, 8)] and link.dropped == 3
    assert "oldest verdicts were dropped" in capsys.readouterr().out
    link.close()


def test_keys_are_never_logged(running, caplog):
    caplog.set_level("DEBUG")
    ada = join(running)
    report(running, ada["token"], "05.2", "05.2/correct", 1)
    report(running, running.keys.learner, "05.2", "05.2/correct", 2)  # a wrong key, logged as a 403
    http(running.base + "api/summary", key=running.keys.learner)
    summary(running)
    assert "403" in caplog.text  # the refusals are in the log...
    for secret in (running.keys.learner, running.keys.teacher, ada["token"]):
        assert secret not in caplog.text  # ...and no key


def test_the_command_refuses_a_folder_or_a_port_in_one_line(tmp_path, capsys):
    from mnist_helpers.cli import main

    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "essay.txt").write_text("mine", encoding="utf-8")
    assert main(["class", "--folder", str(tmp_path / "taken")]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "new or empty folder" in said[0]
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["essay.txt"]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["class", "--folder", str(tmp_path / "new"), "--port", str(port)]) == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "choose another --port" in said[0]


@pytest.mark.slow  # a server process
def test_the_benchmark_measures_the_server_and_the_delay(tmp_path, monkeypatch):
    from benchmarks import classroom as bench

    monkeypatch.setenv("MNIST_CLASS_STATE", str(tmp_path / "state"))
    figures = bench.measure(quick=True)
    assert figures["throughput"]["reports"] == 100 and figures["throughput"]["per_second"] > 0
    for case in ("delay_down", "delay_slow"):
        assert 0 < figures[case]["median_us"] <= figures[case]["p99_us"] <= figures[case]["max_us"]
    text = bench.render(figures)
    assert f"{figures['throughput']['per_second']:.0f} reports a second" in text and text.count("\n| ") == 3
