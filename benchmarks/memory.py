"""Each notebook's kernel at its peak, as a ratio to a bare ``import torch`` kernel measured in the same run.

The readiness check's runner measures every kernel (``resource.getrusage`` at the end of the
notebook): here the same runner runs a notebook of one cell, ``import torch``, for the baseline.
Absolute figures move between machines and PyTorch builds; the ratios move much less, and
``MEMORY_FIGURES`` keeps the committed ones that tests/test_memory.py holds the notebooks to.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import nbformat

from mnist_helpers.course.runner import run_series

MEMORY_FIGURES = Path(__file__).resolve().parent / "memory.json"  # committed: ratios of a full run
MARGIN = 0.15  # a notebook's ratio may grow this much over the committed one before the test fails
BASELINE = "00_import_torch"
ONE_GIB_MIB = 1024  # the common hub default each notebook's kernel should fit in
# The notebooks measured over 1 GiB, and why (README, "On a JupyterHub"): each must stay under its ceiling.
OVER_ONE_GIB = {
    "01_explore": (1100, "torchvision's import brings torch._dynamo (164 MiB over import torch), and exercise 1.3's "
                         "answer, dataset.data.float(), makes a 188 MB float copy of the 60,000 images"),
    "05_train": (1100, "the 50 L-BFGS iterations on all 50,000 images: glibc keeps the freed memory of each "
                       "full-batch pass (MALLOC_MMAP_THRESHOLD_=1048576 brings it to 942 MiB)"),
}


def baseline_peak() -> int:
    """The peak resident memory, in bytes, of a kernel that only imports torch."""
    with tempfile.TemporaryDirectory(prefix="mnist-baseline-") as folder:
        notebooks = Path(folder) / "notebooks"
        notebooks.mkdir()
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(nb, notebooks / f"{BASELINE}.ipynb")
        [outcome] = run_series(folder=notebooks, out_dir=Path(folder) / "build", jobs=1)
    if outcome.error or not outcome.peak_bytes:
        raise RuntimeError(f"the bare import-torch kernel could not be measured: {outcome.error or 'no figure'}")
    return outcome.peak_bytes


def figures(peaks: dict[str, int | None]) -> dict:
    """``peaks`` (bytes, by notebook) in MiB and as ratios to the baseline kernel measured now."""
    baseline = baseline_peak()
    return {"baseline_mib": baseline / 2**20,
            "notebooks": {name: {"peak_mib": peak / 2**20, "ratio": peak / baseline}
                          for name, peak in peaks.items() if peak}}


def grown(measured: dict, committed: dict, margin: float = MARGIN) -> list[str]:
    """The notebooks whose ratio grew by more than ``margin`` over the committed one, each in a sentence."""
    return [f"{name}: {figure['ratio']:.2f} x the import-torch kernel, committed {committed[name]['ratio']:.2f} "
            f"(more than {margin:.0%} over)"
            for name, figure in measured["notebooks"].items()
            if name in committed and figure["ratio"] > committed[name]["ratio"] * (1 + margin)]


def committed() -> dict:
    """The committed ratios, by notebook."""
    return json.loads(MEMORY_FIGURES.read_text(encoding="utf-8"))["notebooks"]


def render(memory: dict) -> str:
    """The Markdown section of the report."""
    rows = [f"| `{name}` | {figure['peak_mib']:,.0f} | {figure['ratio']:.2f} |"
            for name, figure in memory["notebooks"].items()]
    return ("### Each notebook's kernel at its peak\n\n"
            f"A kernel that only runs `import torch` peaks at {memory['baseline_mib']:,.0f} MiB in this run.\n\n"
            "| notebook | peak MiB | x import torch |\n|---|---:|---:|\n" + "\n".join(rows))
