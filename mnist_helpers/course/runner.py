"""``python -m mnist_helpers notebooks``: run the series on this machine and check it against the course.

By default every notebook is executed top to bottom (in its own folder, so its relative paths
work) into a build folder, and the notebooks themselves are left untouched. The run ends with one
table, a row per notebook: its seconds, its headline result, and how its text outputs compare
with the stored notebook's: identical, the same within floating-point noise, or different
(``outputs.compare_notebooks``). A teacher runs it once on each machine of a class: it is the
readiness check. ``--in-place`` is for maintainers: it stores the fresh outputs in the committed
notebooks (no stderr allowed, clean metadata, atomic writes).

Each notebook's kernel reports its peak memory and CPU seconds (``resource.getrusage``, /proc, read by a
cell the runner runs after the notebook's own), shown in the table; ``--class-size N`` then sizes a
JupyterHub for N learners from them (``hub.py``). Each notebook has a time limit (``--timeout``),
and a line of progress is printed while a long cell runs. Ctrl-C stops the run, with no kernel left.

The build folder never is, holds or lies inside the notebooks' folder, and holds only what the
runner wrote there (listed in a manifest, ``folders.write_edition``): each run replaces the last
one's executed notebooks, unchanged, and refuses a folder holding anything else.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write, cache_folder, repository_root
from .folders import default_notebooks, existing_edition, refuse_overlap, write_edition
from .notebooks import read_notebook, series, shown
from .outputs import (
    DIFFERENT,
    IDENTICAL,
    NOISE,
    TOLERANCE,
    Comparison,
    clean_metadata,
    compare_notebooks,
    differing_cells,
    stderr_outputs,
    stdout_text,
)

WRITER = "python -m mnist_helpers notebooks"  # in the build folder's manifest: what wrote it
DEFAULT_TIMEOUT = 1200  # seconds per notebook: notebook 9, the longest, takes about 80 s alone on 2 cores
PROGRESS_EVERY = 30.0  # seconds between two lines of progress while a cell runs
# The kernel's own account of itself, run after the notebook's last cell and removed again: peak
# resident memory and CPU seconds. On Linux the peak is /proc's VmHWM, the kernel's own: getrusage's
# ru_maxrss there carries over the peak of the process it was started from (the runner, with
# PyTorch imported). On macOS, ru_maxrss (bytes). Windows has no ``resource``: nothing is measured.
MEASURE = """\\
try:
    import json as _json, os as _os, resource as _resource, sys as _sys
    _usage = _resource.getrusage(_resource.RUSAGE_SELF)
    _peak = _usage.ru_maxrss * (1 if _sys.platform == "darwin" else 1024)
    if _os.path.exists("/proc/self/status"):
        with open("/proc/self/status", encoding="utf-8") as _status:
            _peak = next(int(_l.split()[1]) * 1024 for _l in _status if _l.startswith("VmHWM:"))
    print(_json.dumps({"peak": _peak, "cpu": _usage.ru_utime + _usage.ru_stime}))
except ImportError:
    print("{}")
"""
# The headline of each notebook: a pattern over what it prints, and how the table shows it.
HEADLINES = {
    "01_explore": (r"training images: ([\d,]+)", "{} training images"),
    "02_split": (r"validation: ([\d,]+) images", "{} validation images"),
    "03_model": (r"parameters: (\d+)\n", "{} parameters"),
    "04_softmax_cross_entropy": (r"our cross-entropy: ([\d.]+)", "untrained loss {}"),
    "05_train": (r"better settings, after \d+ epochs: val_acc ([\d.]+)", "validation accuracy {}"),
    "06_test": (r"test:       loss [\d.]+, accuracy ([\d.]+)", "test accuracy {}"),
    "07_save_load": (r"after loading: +test accuracy ([\d.]+)", "reloaded: test accuracy {}"),
    "08_beyond_linear": (r"(?m)^hidden layer +([\d.]+) +[\d.]+$", "hidden layer: test accuracy {}"),
    "09_convolutions": (r"(?m)^CNN +([\d.]+%) +[\d.]+%$", "CNN: test accuracy {}"),
}


COURSE = frozenset(HEADLINES)  # the course's own notebooks; a teacher's own ones are compared with their stored outputs


@dataclass
class Outcome:
    """What happened to one notebook."""

    name: str
    seconds: float = 0.0
    error: str | None = None  # why it failed, naming the cell
    headline: str = ""
    differing: list[int] = field(default_factory=list)  # code cells whose text outputs changed at all
    comparison: Comparison = field(default_factory=Comparison)  # identical, within noise, or different
    warnings: list[str] = field(default_factory=list)  # cells that wrote to stderr
    peak_bytes: int | None = None  # the kernel's peak resident memory
    cpu_seconds: float | None = None  # the kernel's CPU time, all its threads together
    ran: bool = True  # False: interrupted (Ctrl-C) while it ran, or before it started
    started: bool = True  # for one not run: whether it had started when the run was interrupted


class Interrupted(Exception):
    """Ctrl-C: the outcomes so far (the notebooks not run are marked so)."""

    def __init__(self, outcomes: list[Outcome]):
        super().__init__("interrupted")
        self.outcomes = outcomes


def default_out() -> Path:
    """Where the executed notebooks go when ``--out`` is not given.

    ``build/notebooks`` in the course's repository (ignored by git). Without a repository (the package
    installed, the notebooks in a student's home folder), the user's cache folder (``files.cache_folder``:
    ``~/.cache/mnist_helpers/executed-notebooks`` on Linux): always writable, and nothing is added beside
    the student's own files.
    """
    root = repository_root()
    if root is not None:
        return root / "build" / "notebooks"
    return cache_folder("executed-notebooks")


DATA_VARIABLES = ("MNIST_DATA", "MNIST_MIRROR", "FASHION_MNIST_MIRROR")  # folders, read by every kernel


def kernel_environment(jobs: int) -> dict[str, str]:
    """This process's environment, made headless for the kernels the runner starts.

    Each kernel runs in its notebook's folder: a relative data folder or mirror is made absolute
    here, once, so that every kernel uses the folder this process checked, and nothing is ever
    copied into the notebooks' folder.
    """
    from ..download import default_data_root

    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the inline backend must show the figures
    env["MNIST_PROGRESS"] = "plain"  # stored outputs: the per-epoch lines, no live bar
    env["MNIST_DATA"] = str(Path(default_data_root()).resolve())
    for name in DATA_VARIABLES[1:]:
        if env.get(name):
            env[name] = str(Path(env[name]).resolve())
    if jobs > 1:
        # Several kernels at once on a few cores: one math thread each, or their threads fight
        # (measured: 10x slower). Printed results are the same to the digit either way.
        env["OMP_NUM_THREADS"] = "1"
    return env


def headline(name: str, nb) -> str:
    """The notebook's headline result, read from what it printed."""
    pattern, template = HEADLINES.get(Path(name).stem, (None, ""))
    found = re.findall(pattern, stdout_text(nb)) if pattern else []
    if not found:
        return ""
    value = found[-1]
    return template.format(f"{int(value):,}" if value.isdigit() else value)


def measured(nb) -> dict:
    """Remove the measuring cell the runner appended to ``nb``; what it printed (empty if it did not run)."""
    cell = nb.cells.pop()
    try:
        return json.loads(cell_text(cell) or "{}")
    except json.JSONDecodeError:
        return {}


def cell_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


async def report_progress(name: str, state: dict, start: float) -> None:
    """Every ``PROGRESS_EVERY`` seconds, one line: which notebook, which cell, how long so far."""
    while True:
        await asyncio.sleep(PROGRESS_EVERY)
        print(f"  ... {name}: cell {state.get('cell', 0)} of {state['cells']} running, "
              f"{time.perf_counter() - start:.0f} s so far", file=sys.stderr, flush=True)


def claim_sigint(handler) -> None:
    """Make Ctrl-C call ``handler`` in the running event loop (where signals can be handled so: not Windows)."""
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, handler)
    except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C arrives as KeyboardInterrupt instead
        pass


async def halt(client, run: asyncio.Future) -> None:
    """Stop a running notebook: interrupt its cell (so that its kernel shuts down cleanly), then cancel the run."""
    try:
        await client.km.interrupt_kernel()
        await asyncio.wait_for(asyncio.shield(run), 10)
    except BaseException:  # the cell's KeyboardInterrupt, a kernel that does not answer: cancel the run
        run.cancel()
    await asyncio.gather(run, return_exceptions=True)


async def execute(path: Path, committed, env: dict[str, str], in_place: bool,
                  timeout: int = DEFAULT_TIMEOUT, stop: asyncio.Event | None = None) -> tuple[Outcome, bytes]:
    """Execute ``committed`` (read from ``path``) in its own folder, within ``timeout`` seconds; compare the two.

    Returns the outcome and the executed notebook as it is written; with ``in_place`` it is also
    stored at ``path`` (atomically), unless the run failed. ``stop`` set: the run is halted.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    stop = stop or asyncio.Event()
    nb = copy.deepcopy(committed)
    nb.cells.append(nbformat.v4.new_code_cell(MEASURE))
    outcome = Outcome(path.stem)
    state = {"cells": len(nb.cells) - 1}

    def started(cell, cell_index):
        state["cell"] = cell_index

    def claim_ctrl_c(notebook) -> None:  # nbclient set its own handler, which kills the kernel mid-cell
        claim_sigint(stop.set)

    # nbclient's own limit per cell comes after the notebook's, which names the cell.
    client = NotebookClient(nb, timeout=timeout + 60, kernel_name="python3", record_timing=False,
                            coalesce_streams=True, resources={"metadata": {"path": str(path.parent)}},
                            on_cell_start=started, on_notebook_start=claim_ctrl_c,
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])  # no "running over TCP" warning
    start = time.perf_counter()
    progress = asyncio.ensure_future(report_progress(path.stem, state, start))
    run, stopping = asyncio.ensure_future(client.async_execute(env=env)), asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({run, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():
            await halt(client, run)
            if not stop.is_set():
                outcome.error = (f"stopped after {timeout} s (the time limit, --timeout) in cell "
                                 f"{state.get('cell', '?')}: give it more time with --timeout, or see what that "
                                 "cell waits for")
    finally:
        progress.cancel()
        stopping.cancel()
    err = None if run.cancelled() else run.exception()
    if outcome.error is None and isinstance(err, CellExecutionError):
        failed = next((i for i, c in enumerate(nb.cells)
                       if any(o.get("output_type") == "error" for o in c.get("outputs", []))), "?")
        outcome.error = f"cell {failed} raised {getattr(err, 'ename', 'an error')}: {getattr(err, 'evalue', '')}"
        outcome.error = outcome.error.strip()
    elif outcome.error is None and err is not None:  # a kernel that died
        outcome.error = f"{type(err).__name__}: {err}"
    outcome.seconds = time.perf_counter() - start
    usage = measured(nb)
    outcome.peak_bytes, outcome.cpu_seconds = usage.get("peak"), usage.get("cpu")
    outcome.warnings = stderr_outputs(nb)
    if outcome.error is None and in_place and outcome.warnings:
        outcome.error = "wrote to stderr; fix the cause before storing it:\n    " + "\n    ".join(outcome.warnings)
    outcome.headline = headline(path.name, nb)
    outcome.differing = differing_cells(nb, committed)
    outcome.comparison = compare_notebooks(nb, committed)
    clean_metadata(nb)
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8")  # as nbformat.write writes it
    if in_place and outcome.error is None:  # a failed run never replaces a committed notebook
        with atomic_write(path) as f:
            f.write(data)
    return outcome, data


async def _run_all(paths: list[Path], notebooks: dict, jobs: int, in_place: bool, timeout: int,
                   done: dict[Path, tuple[Outcome, bytes]], started: set[Path]) -> bool:
    """Run the notebooks into ``done``; True if Ctrl-C stopped the run (every kernel is shut down by then)."""
    slots = asyncio.Semaphore(jobs)
    env = kernel_environment(jobs)
    stop = asyncio.Event()

    async def run_one(path: Path) -> None:
        async with slots:
            if stop.is_set():
                return
            print(f"running {path.stem} ...", file=sys.stderr, flush=True)
            started.add(path)
            outcome, data = await execute(path, notebooks[path], env, in_place, timeout, stop)
            if stop.is_set():  # a halted run is no outcome
                return
            print(f"  {path.stem}: {outcome.seconds:.1f} s{', FAILED' if outcome.error else ''}",
                  file=sys.stderr, flush=True)
            done[path] = outcome, data

    # The longest notebooks (most epochs of training in their stored outputs) start first, so
    # that two at a time finish together; the outcomes keep the series' order.
    first = sorted(paths, key=lambda p: -stdout_text(notebooks[p]).count("Epoch ["))
    claim_sigint(stop.set)  # each running notebook is halted, its kernel shut down
    try:
        await asyncio.gather(*(run_one(p) for p in first))
    finally:
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass
    return stop.is_set()


def windows_loop_policy(platform: str = sys.platform):
    """On Windows, the selector event loop that pyzmq's kernel client needs; None elsewhere.

    Windows' default (Proactor) loop makes pyzmq warn on every run.
    """
    return asyncio.WindowsSelectorEventLoopPolicy() if platform == "win32" else None


def prefetch(notebooks: dict) -> None:
    """Get MNIST, and Fashion-MNIST if a notebook uses it, before any kernel starts.

    One clear message about the data first; and two notebooks never download the same files at once.
    """
    from ..download import ensure_dataset, ensure_mnist

    ensure_mnist()
    if any("fashion-mnist" in cell.source for nb in notebooks.values() for cell in nb.cells):
        ensure_dataset("fashion-mnist")


def run_series(names: list[str] | None = None, jobs: int = 2, out_dir: Path | None = None,
               folder: Path | None = None, in_place: bool = False, timeout: int = DEFAULT_TIMEOUT) -> list[Outcome]:
    """Execute the series in ``folder`` (or the named notebooks), ``jobs`` at a time, each within ``timeout`` s.

    The executed notebooks go to ``out_dir`` (default: ``default_out()``), replacing the previous
    run's; with ``in_place``, back into ``folder``. What could stop the run is checked before any
    notebook starts: the folders (``OutputFolderError``), every notebook (``NotebookError``), the data.
    Ctrl-C raises ``Interrupted`` with the outcomes so far, once every kernel is shut down; nothing is written then.
    """
    folder = Path(folder or default_notebooks())
    paths = series(names, folder)
    if not in_place:
        out_dir = Path(out_dir or default_out())
        refuse_overlap(out_dir, folder, inside_repository=True)  # build/ is fine, notebooks/ never
        existing_edition(out_dir, WRITER, overwrite=True)  # only an earlier run's notebooks, unchanged
    notebooks = {path: read_notebook(path) for path in paths}
    prefetch(notebooks)
    policy = windows_loop_policy()
    if policy is not None:
        asyncio.set_event_loop_policy(policy)
    done: dict[Path, tuple[Outcome, bytes]] = {}
    started: set[Path] = set()
    try:
        stopped = asyncio.run(_run_all(paths, notebooks, jobs, in_place, timeout, done, started))
    except KeyboardInterrupt:  # asyncio.run has cancelled the runs, and the kernels stopped
        stopped = True
    if stopped:
        raise Interrupted([done[p][0] if p in done else Outcome(p.stem, ran=False, started=p in started)
                           for p in paths])
    results = [done[path] for path in paths]
    if not in_place:
        write_edition(out_dir, {path.name: data for path, (_, data) in zip(paths, results, strict=True)},
                      WRITER, overwrite=True)
    return [outcome for outcome, _ in results]


def status(outcome: Outcome, in_place: bool) -> str:
    """The table's last column for one notebook."""
    if not outcome.ran:
        return "interrupted while it ran" if outcome.started else "not run (interrupted)"
    if outcome.error:
        return "FAILED: " + outcome.error.splitlines()[0]
    if in_place:
        changed = ", ".join(map(str, outcome.differing))
        text = f"stored (changed cells {changed})" if outcome.differing else "stored, unchanged"
    elif outcome.comparison.verdict == IDENTICAL:
        text = "identical"
    elif outcome.comparison.verdict == NOISE:
        text = f"within noise (largest difference {outcome.comparison.largest:.0e})"
    else:
        text = f"DIFFERENT: {outcome.comparison.first}"
    if outcome.warnings:
        text += f"; warnings in {len(outcome.warnings)} cell(s)"
    return text


def mebibytes(size: int | None) -> str:
    """A peak memory as the table shows it: ``1,024 MiB``, or ``-`` when it was not measured."""
    return "-" if size is None else f"{size / 2**20:,.0f} MiB"


def report(outcomes: list[Outcome], seconds: float, in_place: bool) -> str:
    """The table a teacher reads, and one closing line."""
    rows = [("notebook", "seconds", "peak memory", "CPU s", "headline", "outputs")]
    rows += [(o.name, f"{o.seconds:.1f}" if o.ran else "-", mebibytes(o.peak_bytes),
              "-" if o.cpu_seconds is None else f"{o.cpu_seconds:.1f}", o.headline, status(o, in_place))
             for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    right = (False, True, True, True, False)
    lines = ["  ".join([f"{cell:>{w}}" if r else f"{cell:<{w}}" for cell, w, r in zip(row, widths, right, strict=False)]
                       + [row[5]]) for row in rows]
    ran = [o for o in outcomes if o.ran and o.error is None]
    verdicts = [o.comparison.verdict for o in ran]
    summary = f"{len(ran)}/{len(outcomes)} notebooks ran in {seconds:.0f} s"
    if not all(o.ran for o in outcomes):
        summary += (f"; interrupted (Ctrl-C): {sum(not o.ran for o in outcomes)} not run to the end, and no "
                    "executed notebook was written")
    elif in_place:
        stored = len(ran) == len(outcomes)
        summary += ", stored in the notebooks' folder" if stored else "; the failed ones were left as they were"
    elif verdicts.count(IDENTICAL) == len(outcomes) and len({o.name in COURSE for o in outcomes}) == 1:
        # a teacher's own notebook (not the course's) is identical to its stored outputs
        summary += ", outputs identical to " + ("the course" if outcomes[0].name in COURSE else "their stored outputs")
    else:
        course = [o for o in ran if o.comparison.verdict == IDENTICAL and o.name in COURSE]
        own = verdicts.count(IDENTICAL) - len(course)
        parts = [f"{len(course)} identical to the course"]
        if own:
            parts.append(f"{own} identical to {'its' if own == 1 else 'their'} stored outputs")
        if NOISE in verdicts:
            parts.append(f"{verdicts.count(NOISE)} the same within floating-point noise (every word and whole number "
                         f"equal, decimals within {TOLERANCE:g}, or {TOLERANCE:.1%} of their size above 1)")
        if DIFFERENT in verdicts:
            parts.append(f"{verdicts.count(DIFFERENT)} different (see the outputs column)")
        summary += ": " + ", ".join(parts)
    return "\n".join(lines + ["", summary])


def main(names: list[str], jobs: int, out: Path | None, in_place: bool, strict: bool,
         notebooks: Path | None = None, timeout: int = DEFAULT_TIMEOUT, class_size: int | None = None) -> int:
    """Run, print the table; exit status 1 if a notebook failed, or (``strict``) if outputs are different.

    Outputs the same within floating-point noise never fail the run. An ``OutputFolderError`` (a
    folder refused) or a ``NotebookError`` (a notebook that cannot be read) comes before any notebook starts.
    ``class_size``: end with the settings of a JupyterHub for that many learners at once. Ctrl-C: status 130.
    """
    start = time.perf_counter()
    out = None if in_place else Path(out or default_out())
    try:
        outcomes = run_series(names, jobs, out, notebooks, in_place, timeout)
    except Interrupted as stop:
        print(report(stop.outcomes, time.perf_counter() - start, in_place))
        print("interrupted (Ctrl-C): the run was stopped and its kernels shut down", file=sys.stderr)
        return 130
    print(report(outcomes, time.perf_counter() - start, in_place))
    if not in_place:
        print(f"executed notebooks: {shown(out)}/")
    if class_size:
        from .hub import hub_settings

        print()
        print(hub_settings(outcomes, class_size))
    failed = any(o.error for o in outcomes)
    different = any(o.comparison.verdict == DIFFERENT for o in outcomes)
    return 1 if failed or (strict and different and not in_place) else 0
