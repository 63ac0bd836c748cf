"""``python -m mnist_helpers review SUBMISSIONS --out REPORT``: a class's returned notebooks, checked again.

``SUBMISSIONS`` is a folder of notebooks (flat: each file a learner, named by its stem; or one subfolder per
learner, named by the subfolder) or a ``.zip`` of either. It is only read: a zip is unpacked into a temporary
folder (member names that are absolute or hold ``..`` are refused). Each ``.ipynb`` is matched to a course
notebook by its content (its cell ids and the lines of its markdown cells), never by its file name; a file
that is not JSON, not a notebook or not the course's gets a row saying so (``review_input.py``).

Nothing of a submission is believed but its answer cells (tag ``solution``, paired with the teacher's by cell
id, by the exercise the next check cell names, else by order): the notebook that runs is the teacher's own
(``notebooks/NN_*.ipynb``) with only its answer cells replaced, so edited lesson or check cells and stored
outputs count for nothing; an answer cell missing (an older version of the course) runs as the student
edition's stub, and the row says so. Each notebook runs in a child process (``review_worker.py``: time and
memory limits, one thread, its own process group), ``--jobs`` at a time.

The report (``review_report.py``) is written under the safe-folder rules of ``folders.py``: a new or empty
folder, or an earlier review's output, unchanged. It is written again after every notebook, with
``reviewed.json`` (each submission's SHA-256 and results): a review run again with the same ``--out``, after an
interruption say, runs only the submissions that are new or changed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import Interrupted
from .folders import _read_manifest, default_notebooks, refuse_overlap, write_edition
from .notebooks import read_notebook, series
from .review_input import ReviewError, Submission, cells_to_run, choose, collect, unpack
from .review_worker import STOPPING, limited_environment, run_job, stop_all

WRITER = "python -m mnist_helpers review"
STATE = "reviewed.json"
DEFAULT_TIMEOUT = 300  # seconds per notebook
DEFAULT_MEMORY_GIB = 3.0


@dataclass
class Result:
    """What the review found for one submission: a row per exercise, or the reason it was not reviewed."""

    file: str
    learner: str
    sha256: str
    notebook: str = ""
    course_sha256: str = ""
    status: str = ""  # "reviewed", "timed out after 300 s", ...; empty if not reviewed at all
    settings: str = ""  # the limits it ran under: a notebook stopped by them runs again under others
    reason: str = ""  # why it was not reviewed
    seconds: float = 0.0
    peak_mib: float | None = None  # the notebook process's peak resident memory, if it ran to the end
    rows: list[dict] = field(default_factory=list)  # exercise, verdict, line, seconds, note


# Running one submission.


def review_one(submission: Submission, teacher, course_sha256: str, timeout: float, memory: int | None,
               env: dict[str, str], settings: str = "") -> Result:
    """Run one submission and turn what its child reported into rows."""
    number = submission.notebook[:2]
    cells, notes = cells_to_run(submission.nb, teacher)
    run = run_job(cells, f"mnist_helpers.exercises.nb{number}", timeout, memory, env)
    result = Result(submission.file, submission.learner, submission.sha256, submission.notebook, course_sha256,
                    seconds=round(run.seconds, 1), settings=settings)
    by_index = {e.get("index"): e for e in run.events if e.get("event") in ("verdict", "no-verdict", "raised", "ran")}
    started = [e["index"] for e in run.events if e.get("event") == "cell"]
    last = started[-1] if started else -1
    done = next((e for e in run.events if e.get("event") == "done"), None)
    if done and done.get("peak"):
        result.peak_mib = round(done["peak"] / 2**20, 1)
    gib = f"{memory / 2**30:g} GiB" if memory else ""
    stopped_by = ""
    if run.timed_out:
        stopped_by = f"timed out after {timeout:g} s"
    elif not done:
        stopped_by = (f"the notebook stopped its own process (exit status {run.exit_status})"
                      if run.exit_status is not None and run.exit_status >= 0
                      else f"its process was killed (signal {-run.exit_status})")
    lesson_error = next((e for e in by_index.values() if e["event"] == "raised"
                         and cells[e["index"]]["kind"] == "lesson"), None)
    if lesson_error:
        stopped_by = (f"lesson cell {lesson_error['index']} raised {lesson_error['error']}"
                      + (f" ({lesson_error['message']})" if lesson_error["message"] else "")
                      + (f": ran out of memory (limit {gib})" if lesson_error["memory"] else ""))
    result.status = stopped_by or "reviewed"
    for index, cell in enumerate(cells):
        if cell["kind"] != "check":
            continue
        exercise = f"{number}.{cell['exercise'].removeprefix('q')}"
        answer = next(i for i in range(index - 1, -1, -1) if cells[i]["kind"] == "answer")
        raised = by_index.get(answer, {}) if by_index.get(answer, {}).get("event") == "raised" else None
        note = notes.get(cell["exercise"], "")
        if raised and raised["memory"]:
            note = f"the answer cell ran out of memory (limit {gib})"
        elif raised:
            note = f"the answer cell raised {raised['error']}" + (f" ({raised['message']})" * bool(raised["message"]))
        seconds = sum(e.get("seconds", 0) for i, e in by_index.items() if i in (answer, index))
        row = {"exercise": exercise, "verdict": "", "line": "", "seconds": round(seconds, 2), "note": note}
        got = by_index.get(index)
        if got and got["event"] == "verdict":
            row.update(verdict=got["id"], line=got["line"])
        elif got and got["event"] == "no-verdict":  # the check could not run: its answer cell failed
            row.update(verdict=f"{exercise}/raised", line=f"Not yet: {note or 'the check could not run'}")
        elif run.timed_out and answer <= last <= index:
            row.update(verdict=f"{exercise}/timed-out", line=f"Not yet: the answer ran past the time limit "
                                                             f"({timeout:g} s)")
        else:
            row.update(line=f"not run: {stopped_by}")
        result.rows.append(row)
    return result


def not_reviewed(submission: Submission) -> Result:
    return Result(submission.file, submission.learner, submission.sha256, submission.notebook,
                  reason=submission.reason)


# The whole review.


def read_state(out: Path) -> dict[str, Result]:
    """The results an earlier review wrote in ``out``, by file (none if it is not a review's output)."""
    manifest = _read_manifest(out) if out.is_dir() else None
    if manifest is None or manifest.written_by != WRITER:
        return {}
    try:
        return {entry["file"]: Result(**entry) for entry in json.loads((out / STATE).read_text(encoding="utf-8"))}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def review(submissions: Path, out: Path, notebooks: Path | None = None, jobs: int = 2,
           timeout: float = DEFAULT_TIMEOUT, memory_gib: float | None = DEFAULT_MEMORY_GIB,
           say=lambda line: print(line, file=sys.stderr, flush=True)) -> list[Result]:
    """Review every submission in ``submissions`` into ``out``; return the results, in file order."""
    from ..download import ensure_mnist
    from .folders import existing_edition
    from .review_report import report_files
    from .runner import kernel_environment

    submissions, out = Path(submissions), Path(out)
    STOPPING.clear()
    folder = Path(notebooks) if notebooks is not None else default_notebooks()
    if not submissions.exists():
        raise ReviewError(f"{submissions} does not exist: give the folder (or .zip) of the returned notebooks")
    refuse_overlap(out, folder, also=[(submissions, "the submissions' folder")] if submissions.is_dir() else [])
    existing_edition(out, WRITER, overwrite=True)  # refused before any work: only an earlier review, unchanged
    paths = series(folder=folder)
    course = {path.stem: read_notebook(path) for path in paths}
    course_sha = {path.stem: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}
    memory = int(memory_gib * 2**30) if memory_gib else None
    settings = f"timeout {timeout:g} s, memory {memory_gib or 0:g} GiB"
    earlier = read_state(out)
    with tempfile.TemporaryDirectory(prefix="mnist-review-in-") as unpacked:
        root = unpack(submissions, Path(unpacked)) if submissions.is_file() else submissions
        found = collect(root)
        if not found:
            raise ReviewError(f"no files in {submissions}: nothing to review")
        choose([s for s in found if not s.reason], course)
        results: dict[str, Result] = {}
        todo = []
        for submission in found:
            before = earlier.get(submission.file)
            if submission.nb is None:
                results[submission.file] = not_reviewed(submission)
            elif (before and before.sha256 == submission.sha256 and before.status
                  and before.course_sha256 == course_sha[submission.notebook]
                  and (before.status == "reviewed" or before.settings == settings)):
                results[submission.file] = before
            else:
                todo.append(submission)
        skipped = len([s for s in found if s.nb is not None]) - len(todo)
        say(f"reviewing {len(todo)} notebooks, {jobs} at a time" + (f" ({skipped} reviewed earlier and unchanged)"
                                                                      if skipped else ""))
        ensure_mnist()  # once, before any child needs it
        env = limited_environment(kernel_environment(jobs))

        def write() -> None:
            ordered = [results[s.file] for s in found if s.file in results]
            files = report_files(ordered)
            files[STATE] = (json.dumps([asdict(r) for r in ordered], indent=1) + "\n").encode("utf-8")
            write_edition(out, files, WRITER, overwrite=True)

        write()
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            futures = {pool.submit(review_one, s, course[s.notebook], course_sha[s.notebook], timeout, memory,
                                   env, settings): s for s in todo}
            for count, future in enumerate(as_completed(futures), 1):
                submission = futures[future]
                result = future.result()
                results[submission.file] = result
                right = sum(row["verdict"].endswith("/correct") for row in result.rows)
                say(f"[{count}/{len(todo)}] {submission.learner}, {submission.notebook} ({submission.file}): "
                    f"{right}/{len(result.rows)} correct, {result.status}, {result.seconds:.1f} s")
                write()
        except KeyboardInterrupt:
            stop_all()  # every child killed with its group; the notebooks reviewed so far are written
            raise Interrupted(f"interrupted (Ctrl-C): {len(results) - (len(found) - len(todo))} of {len(todo)} "
                              f"notebooks reviewed, written to {out}; run the same command again to review the "
                              "rest") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [results[s.file] for s in found]


def main(submissions: Path, out: Path, notebooks: Path | None, jobs: int, timeout: float,
         memory_gib: float | None) -> int:
    """Review, then say where the report is and what could not be reviewed.

    A refusal (``ReviewError``, ``OutputFolderError``) or Ctrl-C (``Interrupted``, once what was reviewed is
    written) is raised for the command line to print.
    """
    results = review(submissions, out, notebooks, jobs, timeout, memory_gib)
    reviewed = [r for r in results if r.status]
    print(f"reviewed {len(reviewed)} notebooks of {len({r.learner for r in reviewed})} learners; "
          f"{len(results) - len(reviewed)} files not reviewed (see the report)")
    print(f"report: {out / 'index.html'}, {out / 'verdicts.csv'}, feedback in {out / 'feedback'}/")
    return 0

