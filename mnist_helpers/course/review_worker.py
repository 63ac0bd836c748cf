"""One returned notebook, run for ``python -m mnist_helpers review`` in a child process of its own.

The parent (``run_job``) starts ``python -m mnist_helpers.course.review_worker`` in a new session (its own
process group), with one math thread, in an empty temporary folder, and hands it the job on stdin: the cells
to run (the teacher's lesson and check cells, the learner's answer cells), the exercise module, a memory limit,
the file to write results to and a random token. The child runs the cells one after the other in an IPython
``InteractiveShell`` (magics and ``display`` work; matplotlib draws with Agg) and appends one line per event
to the results file, each starting with the token: a cell started, a verdict, an answer cell that raised.
What the learner's code prints goes nowhere, so it can never pass for a verdict.

Before each check cell the child puts the exercises back as they were before any learner code ran: the
exercise module's attributes, the package's, the ``Exercise`` class's and each exercise object's, and the
builtins; then it rebinds ``exercises`` in the user namespace and evaluates the check cell itself, without
the shell's hooks. A verdict counts only if it is an instance of the ``Verdict`` class imported before any
learner code, for the exercise the check cell names.

The parent waits at most ``timeout`` seconds, then kills the whole process group (``os.killpg``); it kills
the group after a normal end too, so a process the notebook forked does not outlive it. On Linux and macOS
the memory limit is ``resource.RLIMIT_DATA`` (``RLIMIT_AS`` would count PyTorch's reserved address space:
at 2 GiB it breaks ``import torch``); Windows has no ``resource``, and only the time limit applies there.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CHECK = re.compile(r"\bexercises\.(q\d+)\.check\(")
OUT_OF_MEMORY = re.compile(r"can't allocate memory|not enough memory|out of memory|Cannot allocate memory", re.I)


RUNNING: set[subprocess.Popen] = set()  # the children running now, killed by stop_all
RUNNING_LOCK = threading.Lock()
STOPPING = threading.Event()


class Stopped(Exception):
    """The review was interrupted (stop_all) while this notebook ran or waited: it has no result."""


@dataclass
class Run:
    """What the child reported, and how it ended."""

    events: list[dict] = field(default_factory=list)
    exit_status: int | None = None  # None: killed at the time limit
    timed_out: bool = False
    seconds: float = 0.0
    stderr: str = ""  # its last lines, for a crash's reason


def limited_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child: one math thread, Agg figures, no class to report to, this package importable."""
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(env, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg", MNIST_PROGRESS="plain",
               PYTHONPATH=os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")])))
    env.pop("MNIST_CLASS", None)
    return env


def run_job(cells: list[dict], module: str, timeout: float, memory: int | None, env: dict[str, str]) -> Run:
    """Run ``cells`` (dicts with ``kind``: lesson, answer or check; ``source``; ``exercise``: "q1" or None) in a
    child process, within ``timeout`` seconds and ``memory`` bytes; return what it reported."""
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="mnist-review-") as work:
        results, log, folder = Path(work) / "results.txt", Path(work) / "stderr.txt", Path(work) / "run"
        folder.mkdir()
        results.touch()
        job = json.dumps({"cells": cells, "module": module, "memory": memory, "results": str(results),
                          "token": token}).encode("utf-8")
        start = time.perf_counter()
        run = Run()
        with open(log, "wb") as stderr, RUNNING_LOCK:
            if STOPPING.is_set():
                raise Stopped
            child = subprocess.Popen([sys.executable, "-m", "mnist_helpers.course.review_worker"], cwd=folder,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
                                     start_new_session=True)
            RUNNING.add(child)
        try:
            child.communicate(job, timeout=timeout)
            run.exit_status = child.returncode
        except subprocess.TimeoutExpired:
            run.timed_out = True
        finally:
            kill_group(child)
            RUNNING.discard(child)
        if STOPPING.is_set():
            raise Stopped
        run.seconds = time.perf_counter() - start
        run.events = read_results(results, token)
        run.stderr = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    return run


def stop_all() -> None:
    """Ctrl-C: start no more children, and kill every running one with its group."""
    with RUNNING_LOCK:
        STOPPING.set()
        for child in list(RUNNING):
            kill_group(child)


def kill_group(child: subprocess.Popen) -> None:
    """Kill ``child`` and every process of its group (on Windows, the child alone); wait for it."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass  # the group has ended already
    child.wait()


def read_results(path: Path, token: str) -> list[dict]:
    """The events the child wrote, in order; a line without the token (or damaged) is not one of them."""
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        given, _, record = line.partition(" ")
        if given != token:
            continue
        with contextlib.suppress(ValueError):
            event = json.loads(record)
            if isinstance(event, dict):
                events.append(event)
    return events


# The child's side.


class Restorer:
    """The exercises as they were before any learner code ran, to put back before each check."""

    def __init__(self, module):
        from .. import exercises as package
        from ..exercises import Exercise

        self.module = module
        self.owners = [module, package, Exercise, builtins, *(v for v in vars(module).values()
                                                              if isinstance(v, Exercise))]
        self.saved = [(owner, dict(vars(owner))) for owner in self.owners]
        self.streams = sys.stdout, sys.stderr

    def restore(self, namespace: dict) -> None:
        """Put every saved attribute back, remove the ones added since, and rebind ``exercises``."""
        for owner, attributes in self.saved:
            current = vars(owner)
            for name in [name for name in current if name not in attributes]:
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(owner, name)
            for name, value in attributes.items():
                if current.get(name, _MISSING) is not value:
                    with contextlib.suppress(AttributeError, TypeError):
                        setattr(owner, name, value)
        sys.modules[self.module.__name__] = self.module
        sys.stdout, sys.stderr = self.streams
        namespace["exercises"] = self.module


_MISSING = object()


def describe(err: BaseException) -> dict:
    """An error as the parent reports it: its type, its message (one line, short), and whether it is memory."""
    try:
        message = " ".join(str(err).split())[:200]
    except Exception:
        message = ""
    memory = isinstance(err, MemoryError) or bool(OUT_OF_MEMORY.search(message))
    return {"error": type(err).__name__, "message": message, "memory": memory}


def peak_bytes() -> int | None:
    """This process's peak resident memory: /proc's VmHWM on Linux, ru_maxrss on macOS; None on Windows."""
    try:
        with open("/proc/self/status", encoding="utf-8") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        try:
            import resource
        except ImportError:
            return None
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def limit_memory(limit: int | None) -> None:
    if not limit:
        return
    try:
        import resource
    except ImportError:  # Windows: only the time limit applies
        return
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    token = job.pop("token")
    limit_memory(job["memory"])
    results = open(job.pop("results"), "a", encoding="utf-8")  # noqa: SIM115 (open for the whole run)

    def send(**event) -> None:
        results.write(f"{token} {json.dumps(event)}\n")
        results.flush()

    import importlib

    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    from ..exercises import Verdict, reporters

    module = importlib.import_module(job["module"])
    reporters.clear()  # a review reports to no class
    class Shell(InteractiveShell):
        def enable_matplotlib(self, gui=None):  # %matplotlib inline (or any backend): figures stay with Agg
            return gui, "agg"

        def enable_gui(self, gui=None):  # no event loop to run in a review
            pass

    shell = Shell.instance()  # before the snapshot: it adds get_ipython and display to the builtins
    restorer = Restorer(module)
    send(event="ready")
    for index, cell in enumerate(job["cells"]):
        send(event="cell", index=index)
        start = time.perf_counter()
        if cell["kind"] == "check":
            restorer.restore(shell.user_ns)
            verdict, error = None, None
            try:
                verdict = eval(compile(cell["source"], f"<check cell {index}>", "eval"), shell.user_ns)
            except BaseException as err:  # the check never raises: the cell's names are missing
                error = describe(err)
            seconds = time.perf_counter() - start
            if type(verdict) is Verdict and verdict.exercise.endswith("." + cell["exercise"].removeprefix("q")):
                send(event="verdict", index=index, id=verdict.id, line=verdict.line, seconds=seconds)
            else:
                send(event="no-verdict", index=index, seconds=seconds, **(error or {"error": "", "message": "",
                                                                                     "memory": False}))
            continue
        result = shell.run_cell(cell["source"], store_history=False)
        err = result.error_before_exec or result.error_in_exec
        seconds = time.perf_counter() - start
        if err is not None:
            send(event="raised", index=index, seconds=seconds, **describe(err))
            if cell["kind"] == "lesson":
                break
        else:
            send(event="ran", index=index, seconds=seconds)
    send(event="done", peak=peak_bytes())
    results.close()
    sys.stdout.flush()
    os._exit(0)  # no atexit hooks or threads of the learner's left to run


if __name__ == "__main__":
    main()
