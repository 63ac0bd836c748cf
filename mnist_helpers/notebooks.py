"""Executing the notebook series headless and storing clean outputs.

``python -m mnist_helpers notebooks`` runs every notebook in ``notebooks/``
top to bottom in its own folder with the ``python3`` kernel, then keeps only
what a reader needs: the outputs, the kernel name, the cell tags. Re-running
it on the same machine reproduces the stored outputs exactly.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python", "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3"}
KEPT_CELL_METADATA = ("tags",)  # nbval and papermill read their markers from tags


def clean_metadata(nb) -> None:
    """Drop run-specific metadata (papermill, widgets, timings, the Python version); merge stream pieces."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)


def merge_streams(outputs: list) -> list:
    """Join consecutive pieces of the same stream (each print may arrive as its own piece)."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (previous is not None and output.get("output_type") == previous.get("output_type") == "stream"
                and output["name"] == previous["name"]):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def is_stderr(output) -> bool:
    """Whether a cell output is text written to stderr."""
    return output.get("output_type") == "stream" and output.get("name") == "stderr"


def stderr_outputs(nb) -> list[str]:
    """Where a cell wrote to stderr (warnings, for example): none may be committed."""
    return [f"cell {i}: {''.join(o.get('text', ''))[:200]!r}"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for o in cell.outputs if is_stderr(o)]


def write_atomically(nb, path: Path) -> None:
    """Write under a temporary name, then rename: an interrupted run never leaves half a notebook."""
    import nbformat

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


async def execute_notebook(path: Path, timeout: int = 600, env: dict[str, str] | None = None) -> float:
    """Execute one notebook in place, in its own folder, with the python3 kernel; return its seconds.

    ``env``: the kernel's environment (default: this process's).
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    await NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                         resources={"metadata": {"path": str(path.parent)}}).async_execute(env=env)
    seconds = time.perf_counter() - start
    problems = stderr_outputs(nb)
    if problems:
        raise RuntimeError(f"{path.name} wrote to stderr; fix the cause before storing it:\n  " + "\n  ".join(problems))
    clean_metadata(nb)
    nbformat.validate(nb)
    write_atomically(nb, path)
    return seconds


def kernel_environment(jobs: int) -> dict[str, str]:
    """This process's environment, made headless for the kernels the runner starts."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the inline backend must show the figures
    env["MNIST_PROGRESS"] = "plain"  # stored outputs: the per-epoch lines, no live bar
    if jobs > 1:
        # Several kernels at once on a few cores: one math thread each, or their threads fight
        # (measured: 10x slower). Printed results are the same to the digit either way.
        env["OMP_NUM_THREADS"] = "1"
    return env


async def _run_all(paths: list[Path], jobs: int) -> dict[str, float]:
    slots = asyncio.Semaphore(jobs)
    env = kernel_environment(jobs)

    async def run_one(path: Path) -> float:
        async with slots:
            print(f"running {path.name} ...", file=sys.stderr, flush=True)
            seconds = await execute_notebook(path, env=env)
            print(f"  {path.name}: {seconds:.1f} s", file=sys.stderr, flush=True)
            return seconds

    times = await asyncio.gather(*(run_one(p) for p in paths))
    return {p.name: t for p, t in zip(paths, times)}


def run_series(names: list[str] | None = None, jobs: int = 2, folder: Path = NOTEBOOK_DIR) -> dict[str, float]:
    """Execute the series (or the named notebooks), ``jobs`` at a time; return the seconds each took."""
    from .data import ensure_mnist

    ensure_mnist()  # one clear message about the data before any notebook starts
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if names:
        unknown = [n for n in names if not any(n in (p.name, p.stem) for p in paths)]
        if unknown:
            raise FileNotFoundError(f"no notebook named {', '.join(unknown)} in {folder}")
        paths = [p for p in paths if p.name in names or p.stem in names]
    start = time.perf_counter()
    times = asyncio.run(_run_all(paths, jobs))
    print(f"{len(paths)} notebooks in {time.perf_counter() - start:.1f} s ({jobs} at a time)", file=sys.stderr)
    return times
