"""``python -m mnist_helpers notebooks``: run the series on this machine and check it against the course.

By default every notebook is executed top to bottom (in its own folder, so its relative paths
work) into a build folder, and the notebooks themselves are left untouched. The run ends with one
table, a row per notebook: its seconds, its headline result, and how its text outputs compare
with the stored notebook's: identical, the same within floating-point noise, or different
(``outputs.compare_notebooks``). A teacher runs it once on each machine of a class: it is the
readiness check. ``--in-place`` is for maintainers: it stores the fresh outputs in the committed
notebooks (no stderr allowed, clean metadata, atomic writes).

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
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MnistHelpersError
from ..files import atomic_write, repository_root
from .folders import default_notebooks, existing_edition, refuse_overlap, write_edition
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
CONFLICT = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)  # git's merge-conflict markers
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


class RunnerError(MnistHelpersError, ValueError):
    """The run cannot start: no notebooks where they were looked for, or a notebook that cannot be read."""

    exit_status = 2


def default_out() -> Path:
    """Where the executed notebooks go when ``--out`` is not given.

    ``build/notebooks`` in the course's repository (ignored by git). Without a repository (the package
    installed, the notebooks in a student's home folder), the user's cache folder,
    ``~/.cache/mnist_helpers/executed-notebooks``: always writable, and nothing is added beside the
    student's own files.
    """
    root = repository_root()
    if root is not None:
        return root / "build" / "notebooks"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mnist_helpers" / "executed-notebooks"


def shown(path: Path) -> str:
    """``path`` as the user reads it best: relative to the current folder when it lies below it."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(Path(path).resolve())


def series(names: list[str] | None = None, folder: Path | None = None) -> list[Path]:
    """The notebooks of the series in order (in ``default_notebooks()`` unless ``folder``), or only those named."""
    folder = Path(folder or default_notebooks())
    if not folder.is_dir():
        raise RunnerError(f"{shown(folder)} is not a folder: give --notebooks the folder that holds the course's "
                          "notebooks")
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise RunnerError(f"no notebooks of the series (01_explore.ipynb, ...) in {shown(folder)}: "
                          "give --notebooks the folder that holds them")
    if names:
        unknown = [n for n in names if not any(n in (p.name, p.stem) for p in paths)]
        if unknown:
            raise FileNotFoundError(f"no notebook named {', '.join(unknown)} in {shown(folder)}; "
                                    f"the series is {', '.join(p.stem for p in paths)}")
        paths = [p for p in paths if p.name in names or p.stem in names]
    return paths


def read_notebook(path: Path):
    """The notebook at ``path``; a ``RunnerError`` in one line, naming it, if it cannot be read as one."""
    import nbformat

    text = path.read_text(encoding="utf-8", errors="replace")
    if CONFLICT.search(text):
        raise RunnerError(f"{shown(path)} holds merge-conflict markers (<<<<<<<, =======, >>>>>>>): resolve the "
                          "conflict (keep one side with git checkout --ours or --theirs, or edit it), then run again")
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise RunnerError(f"{shown(path)} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}): "
                          "restore it from the course, or fix it in a text editor") from None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat reports a damaged notebook with many kinds of errors
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise RunnerError(f"{shown(path)} is not a Jupyter notebook ({reason}): restore it from the course") from None
    return nb


def kernel_environment(jobs: int) -> dict[str, str]:
    """This process's environment, made headless for the kernels the runner starts."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the inline backend must show the figures
    env["MNIST_PROGRESS"] = "plain"  # stored outputs: the per-epoch lines, no live bar
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


async def execute(path: Path, committed, env: dict[str, str], in_place: bool,
                  timeout: int = 600) -> tuple[Outcome, bytes]:
    """Execute ``committed`` (read from ``path``) in its own folder; compare the two.

    Returns the outcome and the executed notebook as it is written; with ``in_place`` it is also
    stored at ``path`` (atomically), unless the run failed.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = copy.deepcopy(committed)
    outcome = Outcome(path.stem)
    start = time.perf_counter()
    try:
        await NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False, coalesce_streams=True,
                             resources={"metadata": {"path": str(path.parent)}}).async_execute(env=env)
    except CellExecutionError as err:
        failed = next((i for i, c in enumerate(nb.cells)
                       if any(o.get("output_type") == "error" for o in c.get("outputs", []))), "?")
        outcome.error = f"cell {failed} raised {getattr(err, 'ename', 'an error')}: {getattr(err, 'evalue', '')}"
        outcome.error = outcome.error.strip()
    except Exception as err:  # a kernel that died or timed out
        outcome.error = f"{type(err).__name__}: {err}"
    outcome.seconds = time.perf_counter() - start
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


async def _run_all(paths: list[Path], notebooks: dict, jobs: int, in_place: bool) -> list[tuple[Outcome, bytes]]:
    slots = asyncio.Semaphore(jobs)
    env = kernel_environment(jobs)

    async def run_one(path: Path) -> tuple[Outcome, bytes]:
        async with slots:
            print(f"running {path.stem} ...", file=sys.stderr, flush=True)
            outcome, data = await execute(path, notebooks[path], env, in_place)
            print(f"  {path.stem}: {outcome.seconds:.1f} s{', FAILED' if outcome.error else ''}",
                  file=sys.stderr, flush=True)
            return outcome, data

    # The longest notebooks (most epochs of training in their stored outputs) start first, so
    # that two at a time finish together; the outcomes keep the series' order.
    first = sorted(paths, key=lambda p: -stdout_text(notebooks[p]).count("Epoch ["))
    tasks = {p: asyncio.ensure_future(run_one(p)) for p in first}
    return list(await asyncio.gather(*(tasks[p] for p in paths)))


def run_series(names: list[str] | None = None, jobs: int = 2, out_dir: Path | None = None,
               folder: Path | None = None, in_place: bool = False) -> list[Outcome]:
    """Execute the series in ``folder`` (or the named notebooks), ``jobs`` at a time.

    The executed notebooks go to ``out_dir`` (default: ``default_out()``), replacing the previous
    run's; with ``in_place``, back into ``folder``. What could stop the run is checked before any
    notebook starts: the folders (``OutputFolderError``), every notebook (``RunnerError``), the data.
    """
    from ..download import ensure_mnist

    folder = Path(folder or default_notebooks())
    paths = series(names, folder)
    if not in_place:
        out_dir = Path(out_dir or default_out())
        refuse_overlap(out_dir, folder, inside_repository=True)  # build/ is fine, notebooks/ never
        existing_edition(out_dir, WRITER, overwrite=True)  # only an earlier run's notebooks, unchanged
    notebooks = {path: read_notebook(path) for path in paths}
    ensure_mnist()  # one clear message about the data before any notebook starts
    results = asyncio.run(_run_all(paths, notebooks, jobs, in_place))
    if not in_place:
        executed = {path.name: data for path, (_, data) in zip(paths, results, strict=True)}
        write_edition(out_dir, executed, WRITER, overwrite=True)
    return [outcome for outcome, _ in results]


def status(outcome: Outcome, in_place: bool) -> str:
    """The table's last column for one notebook."""
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


def report(outcomes: list[Outcome], seconds: float, in_place: bool) -> str:
    """The table a teacher reads, and one closing line."""
    rows = [("notebook", "seconds", "headline", "outputs")]
    rows += [(o.name, f"{o.seconds:.1f}", o.headline, status(o, in_place)) for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows]
    ran = [o for o in outcomes if o.error is None]
    verdicts = [o.comparison.verdict for o in ran]
    summary = f"{len(ran)}/{len(outcomes)} notebooks ran in {seconds:.0f} s"
    if in_place:
        stored = len(ran) == len(outcomes)
        summary += ", stored in the notebooks' folder" if stored else "; the failed ones were left as they were"
    elif verdicts.count(IDENTICAL) == len(outcomes):
        summary += ", outputs identical to the course"
    else:
        parts = [f"{verdicts.count(IDENTICAL)} identical to the course"]
        if NOISE in verdicts:
            parts.append(f"{verdicts.count(NOISE)} the same within floating-point noise (every word and whole number "
                         f"equal, decimals within {TOLERANCE:g}, or {TOLERANCE:.1%} of their size above 1)")
        if DIFFERENT in verdicts:
            parts.append(f"{verdicts.count(DIFFERENT)} different (see the outputs column)")
        summary += ": " + ", ".join(parts)
    return "\n".join(lines + ["", summary])


def main(names: list[str], jobs: int, out: Path | None, in_place: bool, strict: bool,
         notebooks: Path | None = None) -> int:
    """Run, print the table; exit status 1 if a notebook failed, or (``strict``) if outputs are different.

    Outputs the same within floating-point noise never fail the run. An ``OutputFolderError`` (a
    folder refused) or a ``RunnerError`` (a notebook that cannot be read) comes before any notebook starts.
    """
    start = time.perf_counter()
    out = None if in_place else Path(out or default_out())
    outcomes = run_series(names, jobs, out, notebooks, in_place)
    print(report(outcomes, time.perf_counter() - start, in_place))
    if not in_place:
        print(f"executed notebooks: {shown(out)}/")
    failed = any(o.error for o in outcomes)
    different = any(o.comparison.verdict == DIFFERENT for o in outcomes)
    return 1 if failed or (strict and different and not in_place) else 0
