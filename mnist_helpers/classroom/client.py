"""The learner's side: ``join_class`` once, and from then on every check reports its verdict to the class.

A report holds the verdict id, the exercise, the attempt number and the time of the check, nothing
else: never code, answers or outputs. The check only puts the report on a queue (microseconds); a
background thread sends it, with a short timeout. A server that cannot be reached is said once, in
one line, with the next check; the thread then tries again, less and less often. Reports made while
the server is away are kept, up to ``QUEUE_LIMIT``, and sent when it answers again; beyond that, the
oldest are dropped (and the line says so).

The learner's token is kept in a small file of the user's cache folder, so the next notebook (a new
kernel) reports as the same learner, with its attempts counted on.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag

QUEUE_LIMIT = 500
TIMEOUT = 2.0  # seconds a report may take to send
RETRY = (1.0, 30.0)  # seconds between tries while the server is away: from, to (doubling)
ENV = "MNIST_CLASS"
NAME_ENV = "MNIST_CLASS_NAME"


class ClassError(ValueError):
    """The join line cannot be used (one line, saying how to fix it)."""


def parse_join(address: str) -> tuple[str, str]:
    """The server's base URL and the learner key, from a join line "http://host:port/#key"."""
    base, key = urldefrag(address.strip()) if isinstance(address, str) else ("", "")
    if not base.startswith(("http://", "https://")) or len(key) < 16:
        raise ClassError("this is not a class's join line: copy the whole address the teacher gave, "
                         "http://...:port/#key, the part after # included")
    return base if base.endswith("/") else base + "/", key


def state_folder() -> Path:
    """Where learners' tokens are kept ($MNIST_CLASS_STATE, else the user's cache folder)."""
    if os.environ.get("MNIST_CLASS_STATE"):
        return Path(os.environ["MNIST_CLASS_STATE"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("mnist_helpers")) / "class"


class ClassLink:
    """One kernel's link to the class: a queue of reports and the thread that sends them."""

    def __init__(self, address: str, name: str):
        self.base, self.key = parse_join(address)
        self.name = name
        self.state_file = state_folder() / (hashlib.sha256((self.base + self.key).encode()).hexdigest()[:16] + ".json")
        self.queue: collections.deque = collections.deque()
        self.dropped = 0
        self.attempts: dict[str, int] = {}
        self.token = self.learner = None
        self.joined = threading.Event()
        self.unreachable = False  # set by the thread, said once by the next check
        self.said = set()
        self.wake = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="mnist-class", daemon=True)
        self.thread.start()

    # --- in the check's thread: never waits on the network
    def report(self, verdict) -> None:
        """Queue the verdict of a check (called by ``Exercise.check``)."""
        with self.wake:
            if len(self.queue) >= QUEUE_LIMIT:
                self.queue.popleft()
                self.dropped += 1
            self.queue.append({"exercise": verdict.exercise, "verdict": verdict.id, "time": time.time()})
            self.wake.notify()
        self._say_news()

    def _say_news(self) -> None:
        if self.unreachable and "unreachable" not in self.said:
            self.said.add("unreachable")
            print(f"(The class at {self.base} cannot be reached: your checks work as before; up to {QUEUE_LIMIT} "
                  "verdicts wait and are sent when it answers, older ones are dropped.)")
        if self.dropped and "dropped" not in self.said:
            self.said.add("dropped")
            print(f"(The class has been away for more than {QUEUE_LIMIT} checks: the oldest verdicts were dropped.)")

    def close(self) -> None:
        with self.wake:
            self.closed = True
            self.wake.notify()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued report is sent (for tests and the benchmark); True if the queue is empty."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.wake:
                if not self.queue and not getattr(self, "_sending", False):
                    return True
            time.sleep(0.01)
        return False

    # --- in the background thread
    def _post(self, path: str, body: dict, token: str) -> tuple[int, dict]:
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            try:
                return err.code, json.loads(err.read() or b"{}")
            except ValueError:
                return err.code, {}

    def _join(self) -> bool:
        stored = None
        try:
            stored = json.loads(self.state_file.read_text(encoding="utf-8")).get("token")
        except (OSError, ValueError, AttributeError):
            pass
        status, answer = self._post("api/join", {"name": self.name, "token": stored}, self.key)
        if status != 200:
            self.refused = f"the class refused to join ({status}: {answer.get('error', 'no reason given')})"
            return False
        self.token, self.learner = answer["token"], answer["learner"]
        self.attempts = {exercise: max(n, self.attempts.get(exercise, 0)) for exercise, n in answer["attempts"].items()}
        if answer["token"] != stored:
            try:
                from ..files import atomic_write

                with atomic_write(self.state_file, "w", encoding="utf-8") as f:
                    json.dump({"token": self.token}, f)
            except OSError:  # no cache folder: this kernel still reports, the next one joins anew
                pass
        self.joined.set()
        return True

    def _run(self) -> None:
        wait = RETRY[0]
        while True:
            with self.wake:
                while self.joined.is_set() and not self.queue and not self.closed:
                    self.wake.wait()
                if self.closed:
                    return
                item = self.queue[0] if self.queue else None
                self._sending = item is not None
            try:
                if not self.joined.is_set():
                    if not self._join():
                        return  # a wrong key: said by join_class, nothing more to send
                    self.unreachable = False
                    continue
                if "attempt" not in item:  # numbered when first sent, in the order of the checks
                    self.attempts[item["exercise"]] = item["attempt"] = self.attempts.get(item["exercise"], 0) + 1
                status, _ = self._post("api/report", item, self.token)
            except (OSError, ValueError):  # unreachable, timed out, or not a class server
                self.unreachable = True
                time.sleep(wait)
                wait = min(wait * 2, RETRY[1])
                continue
            wait = RETRY[0]
            if status == 429:  # too fast: the same report again, a moment later
                time.sleep(1.0)
                continue
            if status == 403:  # the class forgot this learner (a new class in the folder): join again
                self.joined.clear()
                continue
            with self.wake:  # stored (200), already stored (409), or refused for good (4xx): next one
                if self.queue and self.queue[0] is item:
                    self.queue.popleft()
                self._sending = False


_link: ClassLink | None = None


def join_class(address: str | None = None, name: str | None = None) -> ClassLink:
    """Join the class at ``address`` (the teacher's join line, default ``$MNIST_CLASS``) as ``name``.

    ``name`` is yours to choose, a nickname if you like, at most 40 characters; ``name=""`` stays
    anonymous. Without one, the hub's user name (``$JUPYTERHUB_USER``) is used, else none. From now
    on each check sends the class its verdict id, the exercise, the attempt number and the time:
    never your code, answers or outputs.
    """
    global _link
    address = address if address is not None else os.environ.get(ENV, "")
    if not address:
        raise ClassError("no class to join: give the join line the teacher wrote, "
                         'mnist_helpers.exercises.join_class("http://...:port/#key")')
    if name is None:
        name = os.environ.get(NAME_ENV, os.environ.get("JUPYTERHUB_USER", ""))
    if not isinstance(name, str) or len(name.strip()) > 40:
        raise ClassError("the name should be text of at most 40 characters (a nickname is fine)")
    if _link is not None:
        _link.close()
    _link = ClassLink(address, name.strip())
    if _link.joined.wait(TIMEOUT + 0.5):
        print(f"Joined the class as {name.strip() or 'anonymous'} (the name is yours to choose, a nickname is fine, "
              'name="" for none): each check now tells the teacher its verdict id, never your code.')
    elif getattr(_link, "refused", None):
        message, _link = _link.refused, None
        raise ClassError(message + ": copy the join line again")
    else:
        print(f"The class at {_link.base} does not answer yet: your checks work as before, and their verdicts "
              "are sent when it does.")
    return _link


def report(verdict) -> None:
    """The reporter of ``mnist_helpers.exercises``: sends ``verdict`` if this kernel joined a class
    (with ``join_class``, or ``$MNIST_CLASS`` set before the first check)."""
    global _link
    if _link is None:
        if not os.environ.get(ENV):
            return
        name = os.environ.get(NAME_ENV, os.environ.get("JUPYTERHUB_USER", ""))
        try:
            _link = ClassLink(os.environ[ENV], name.strip()[:40])
        except ClassError as err:
            os.environ.pop(ENV, None)  # said once
            print(f"(${ENV} is set but {err})")
            return
    _link.report(verdict)
