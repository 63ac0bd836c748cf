"""``python -m mnist_helpers notebooks``: run the series on this machine and check it against the course.

By default every notebook is executed top to bottom (from ``notebooks/``, so its relative paths
work) into a build folder, and the committed notebooks are left untouched. The run ends with one
table, a row per notebook: its seconds, its headline result, and whether its text outputs are
those of the committed notebook. A teacher runs it once on each machine of a class: it is the
readiness check. ``--in-place`` is for maintainers: it stores the fresh outputs in the committed
notebooks (no stderr allowed, clean metadata, atomic writes).
"""

from __future__ import annotations

import asyncio
import copy
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write
from .outputs import clean_metadata, differing_cells, stderr_outputs, stdout_text

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
BUILD_DIR = ROOT / "build" / "notebooks"
# The headline of each notebook: a pattern over what it prints, and how the table shows it.
HEADLINES = {
    "01_explore": (r"training images: ([\d,]+)", "{} training images"),
    "02_split": (r"validation: ([\d,]+) images", "{} validation images"),
    "03_model": (r"parameters: (\d+)\n", "{} parameters"),
    "04_softmax_cross_entropy": (r"our cross-entropy: ([\d.]+)", "untrained loss {}"),
    "05_train": (r"test set: loss [\d.]+, accuracy ([\d.]+)", "test accuracy {}"),
    "06_test": (r"test:       loss [\d.]+, accuracy ([\d.]+)", "test accuracy {}"),
    "07_save_load": (r"after loading: +test accuracy ([\d.]+)", "reloaded: test accuracy {}"),
    "08_beyond_linear": (r"hidden +[\d,]+ +([\d.]+)", "hidden layer: test accuracy {}"),
}


@dataclass
class Outcome:
    """What happened to one notebook."""

    name: str
    seconds: float = 0.0
    error: str | None = None  # why it failed, naming the cell
    headline: str = ""
    differing: list[int] = field(default_factory=list)  # code cells whose text outputs differ from the course
    warnings: list[str] = field(default_factory=list)  # cells that wrote to stderr


def series(names: list[str] | None = None, folder: Path | None = None) -> list[Path]:
    """The notebooks of the series in order (``notebooks/`` unless ``folder``), or only those named."""
    folder = folder or NOTEBOOK_DIR
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if names:
        unknown = [n for n in names if not any(n in (p.name, p.stem) for p in paths)]
        if unknown:
            raise FileNotFoundError(f"no notebook named {', '.join(unknown)} in {folder}; "
                                    f"the series is {', '.join(p.stem for p in paths)}")
        paths = [p for p in paths if p.name in names or p.stem in names]
    return paths


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
    pattern, shown = HEADLINES.get(Path(name).stem, (None, ""))
    found = re.findall(pattern, stdout_text(nb)) if pattern else []
    if not found:
        return ""
    value = found[-1]
    return shown.format(f"{int(value):,}" if value.isdigit() else value)


async def execute(path: Path, out: Path, env: dict[str, str], in_place: bool, timeout: int = 600) -> Outcome:
    """Execute ``path`` in its own folder; write the result to ``out``; compare it with ``path``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    committed = nbformat.read(path, as_version=4)
    nb = copy.deepcopy(committed)
    outcome = Outcome(path.stem)
    start = time.perf_counter()
    try:
        await NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False, coalesce_streams=True,
                             resources={"metadata": {"path": str(path.parent)}}).async_execute(env=env)
    except CellExecutionError as err:
        failed = next((i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))), "?")
        outcome.error = f"cell {failed} raised {getattr(err, 'ename', 'an error')}: {getattr(err, 'evalue', '')}".strip()
    except Exception as err:  # a kernel that died or timed out
        outcome.error = f"{type(err).__name__}: {err}"
    outcome.seconds = time.perf_counter() - start
    outcome.warnings = stderr_outputs(nb)
    if outcome.error is None and in_place and outcome.warnings:
        outcome.error = "wrote to stderr; fix the cause before storing it:\n    " + "\n    ".join(outcome.warnings)
    outcome.headline = headline(path.name, nb)
    outcome.differing = differing_cells(nb, committed)
    clean_metadata(nb)
    nbformat.validate(nb)
    if outcome.error is None or not in_place:  # a failed run never replaces a committed notebook
        with atomic_write(out, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
    return outcome


async def _run_all(paths: list[Path], out_dir: Path | None, jobs: int) -> list[Outcome]:
    slots = asyncio.Semaphore(jobs)
    env = kernel_environment(jobs)

    async def run_one(path: Path) -> Outcome:
        async with slots:
            print(f"running {path.stem} ...", file=sys.stderr, flush=True)
            out = path if out_dir is None else out_dir / path.name
            outcome = await execute(path, out, env, in_place=out_dir is None)
            print(f"  {path.stem}: {outcome.seconds:.1f} s{', FAILED' if outcome.error else ''}", file=sys.stderr, flush=True)
            return outcome

    # The longest notebooks (most epochs of training in their stored outputs) start first, so
    # that two at a time finish together; the outcomes keep the series' order.
    first = sorted(paths, key=lambda p: -p.read_text(encoding="utf-8").count("Epoch ["))
    tasks = {p: asyncio.ensure_future(run_one(p)) for p in first}
    return list(await asyncio.gather(*(tasks[p] for p in paths)))


def run_series(names: list[str] | None = None, jobs: int = 2, out_dir: Path | None = BUILD_DIR,
               folder: Path | None = None) -> list[Outcome]:
    """Execute the series (or the named notebooks), ``jobs`` at a time, into ``out_dir`` (None: in place)."""
    from ..download import ensure_mnist

    ensure_mnist()  # one clear message about the data before any notebook starts
    paths = series(names, folder)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run_all(paths, out_dir, jobs))


def report(outcomes: list[Outcome], seconds: float, in_place: bool) -> str:
    """The table a teacher reads, and one closing line."""
    rows = [("notebook", "seconds", "headline", "outputs")]
    for o in outcomes:
        if o.error:
            status = "FAILED: " + o.error.splitlines()[0]
        elif in_place:
            status = "stored" + (f" (changed cells {', '.join(map(str, o.differing))})" if o.differing else ", unchanged")
        else:
            status = "identical" if not o.differing else f"differ in cells {', '.join(map(str, o.differing))}"
        if o.warnings and not o.error:
            status += f"; warnings in {len(o.warnings)} cell(s)"
        rows.append((o.name, f"{o.seconds:.1f}", o.headline, status))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows]
    ran = sum(o.error is None for o in outcomes)
    same = sum(o.error is None and not o.differing for o in outcomes)
    summary = f"{ran}/{len(outcomes)} notebooks ran in {seconds:.0f} s"
    if in_place:
        summary += ", stored in notebooks/" if ran == len(outcomes) else "; the failed ones were left as they were"
    elif same == len(outcomes):
        summary += ", outputs identical to the course"
    else:
        summary += f"; {len(outcomes) - same} differ from the course (see the outputs column)"
    return "\n".join(lines + ["", summary])


def main(names: list[str], jobs: int, out: Path | None, in_place: bool, strict: bool) -> int:
    """Run, print the table; exit status 1 if a notebook failed, or (``strict``) if outputs differ."""
    start = time.perf_counter()
    outcomes = run_series(names, jobs, None if in_place else (out or BUILD_DIR))
    print(report(outcomes, time.perf_counter() - start, in_place))
    if not in_place:
        where = os.path.relpath(out or BUILD_DIR)
        print(f"executed notebooks: {where if not where.startswith('..') else Path(out or BUILD_DIR).resolve()}/")
    failed = any(o.error for o in outcomes)
    differ = any(o.differing for o in outcomes)
    return 1 if failed or (strict and differ and not in_place) else 0
