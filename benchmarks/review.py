"""The review of returned work: notebooks reviewed per minute with ``--jobs 2``, and the peak memory.

A class of submissions of notebook 3 (the fastest) is generated in a temporary folder: the teacher's
answers, the student edition (blank) and a wrong answer, in turns, one learner each. ``python -m
mnist_helpers review`` runs on it in a fresh process, whose own peak memory is measured; each notebook's
process reports its own peak (``reviewed.json``).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import nbformat

from mnist_helpers.course.student import student_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "03_model.ipynb"
WRONG = "def count_parameters(inputs, outputs):\n    return inputs * outputs\n"


def make_class(folder: Path, learners: int) -> None:
    teacher = nbformat.read(NOTEBOOK, as_version=4)
    blank = student_notebook(teacher)
    wrong = student_notebook(teacher)
    next(c for c in wrong.cells if "solution" in c.metadata.get("tags", [])).source = WRONG
    for number in range(learners):
        (folder / f"learner{number:02d}").mkdir(parents=True)
        nbformat.write((teacher, blank, wrong)[number % 3], folder / f"learner{number:02d}" / "03_model.ipynb")


def measure(quick: bool, data_root: Path, peak_rss_mib, run_module_code) -> dict:
    """Review a generated class (quick: 2 learners, only to keep the benchmark working; else 12)."""
    learners = 2 if quick else 12
    os.environ["MNIST_DATA"] = str(data_root)  # the reviewer and its notebooks use the benchmark's data
    with tempfile.TemporaryDirectory(prefix="mnist-review-bench-") as scratch:
        submissions, out = Path(scratch) / "class", Path(scratch) / "report"
        make_class(submissions, learners)
        start = time.perf_counter()
        _, reviewer_mib = peak_rss_mib("python -m mnist_helpers review", run_module_code(
            "mnist_helpers", "review", str(submissions), "--out", str(out), "--jobs", "2"))
        seconds = time.perf_counter() - start
        state = json.loads((out / "reviewed.json").read_text(encoding="utf-8"))
    peaks = [entry["peak_mib"] for entry in state if entry.get("peak_mib")]
    return {"notebooks": len(state), "jobs": 2, "seconds": seconds, "per_minute": 60 * len(state) / seconds,
            "reviewer_peak_mib": reviewer_mib, "notebook_peak_mib": max(peaks, default=None),
            "notebook_seconds": [entry["seconds"] for entry in state],
            "all_reviewed": all(entry["status"] == "reviewed" for entry in state)}


def render(figures: dict) -> str:
    notebook_peak = figures["notebook_peak_mib"]
    return (f"### Reviewing returned work\n\n`python -m mnist_helpers review --jobs {figures['jobs']}` on "
            f"{figures['notebooks']} submissions of `03_model`: {figures['seconds']:.1f} s, "
            f"{figures['per_minute']:.1f} notebooks reviewed a minute (a process started per notebook included). "
            f"Peak memory: {figures['reviewer_peak_mib']:.0f} MiB for the reviewer's own process, "
            + (f"{notebook_peak:.0f} MiB for the largest notebook's process" if notebook_peak else
               "the notebooks' processes not measured") + ".\n")
