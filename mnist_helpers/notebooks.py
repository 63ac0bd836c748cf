"""Executing the notebook series headless and storing clean outputs.

``python -m mnist_helpers notebooks`` runs every notebook in ``notebooks/``
top to bottom in its own folder with the ``python3`` kernel, then keeps only
what a reader needs: the outputs, the kernel name, the cell tags. Re-running
it on the same machine reproduces the stored outputs exactly.
"""

from __future__ import annotations

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
    """Drop run-specific metadata: papermill, widgets, timings, the Python version."""
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}


def stderr_outputs(nb) -> list[str]:
    """Where a cell wrote to stderr (warnings, for example): none may be committed."""
    return [f"cell {i}: {''.join(o.get('text', ''))[:200]!r}"
            for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]


def execute_notebook(path: Path, timeout: int = 600) -> float:
    """Execute one notebook in place, in its own folder; return the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    problems = stderr_outputs(nb)
    if problems:
        raise RuntimeError(f"{path.name} wrote to stderr; fix the cause before storing it:\n  " + "\n  ".join(problems))
    clean_metadata(nb)
    nbformat.validate(nb)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return seconds


def run_series(names: list[str] | None = None, folder: Path = NOTEBOOK_DIR) -> int:
    """Execute the series (or the named notebooks) in order; print the time each took."""
    from .data import ensure_mnist

    ensure_mnist()  # one clear message about the data before any notebook starts
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if names:
        paths = [p for p in paths if p.name in names or p.stem in names]
    if not paths:
        print(f"no notebooks to run in {folder}", file=sys.stderr)
        return 0 if not names else 2
    total = 0.0
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        seconds = execute_notebook(path)
        total += seconds
        print(f"  {path.name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    print(f"{len(paths)} notebooks in {total:.1f} s", file=sys.stderr)
    return 0
